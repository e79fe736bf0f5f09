"""DecontaminateConfig validates itself with messages that name the bad field; its flags, YAML section and docs
agree (its Spark settings are the run config's ``services.spark``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from config_contract import (
    cli_settings,
    command_parser,
    disagreements,
    docs_settings,
    run_config_key,
    shown,
    yaml_keys,
)
from pydantic import ValidationError

from pipeline.decontaminate.config import JOINS, WIKIPEDIA_MIRRORS, DecontaminateConfig
from pipeline.services.config import SparkConfig
from pipeline.settings import config_from_arguments, section_model


def from_flags(*argv: str) -> DecontaminateConfig:
    args = command_parser("decontaminate").parse_args(["docs", "--out", "corpus", *argv])
    return config_from_arguments(DecontaminateConfig, args)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n": 0}, "n must be an integer between 1 and 100, got 0"),
        ({"n": 13.0}, "n must be an integer between 1 and 100, got 13.0"),
        ({"margin_chars": -1}, "margin_chars must be an integer between 0 and"),
        ({"min_piece_chars": -1}, "min_piece_chars must be an integer between 0 and"),
        ({"max_pieces": 0}, "max_pieces must be an integer between 1 and"),
        ({"max_ngram_documents": 0}, "max_ngram_documents must be an integer between 1 and"),
        ({"wikipedia_max_ngram_documents": 0}, "wikipedia_max_ngram_documents must be an integer between 1 and"),
        ({"wikipedia_mirrors": ("mirror.test/wiki",)}, "wikipedia_mirrors must be bare host names"),
        ({"wikipedia_mirrors": (" ",)}, "wikipedia_mirrors must be bare host names"),
        ({"workers": 0}, "workers must be an integer between 1 and 1024, got 0"),
        ({"join": "dask"}, "join must be one of auto, local, spark, got 'dask'"),
        ({"spark_min_reference_ngrams": -1}, "spark_min_reference_ngrams must be an integer between 0 and"),
    ],
)
def test_bad_values_are_refused_naming_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DecontaminateConfig(**overrides)


def test_defaults_work_on_one_machine() -> None:
    cfg = DecontaminateConfig()
    assert (cfg.n, cfg.margin_chars, cfg.min_piece_chars, cfg.max_pieces) == (13, 200, 200, 10)  # GPT-3's rule
    assert (cfg.max_ngram_documents, cfg.wikipedia_max_ngram_documents) == (10, 100)
    assert cfg.drop_wikipedia and cfg.wikipedia_mirrors == WIKIPEDIA_MIRRORS
    assert cfg.mask_pii  # personal data is masked unless switched off
    assert (cfg.workers, cfg.join, cfg.spark_min_reference_ngrams) == (None, "auto", 50_000_000)
    assert cfg.spark == SparkConfig() and cfg.spark.master == "local[*]"
    assert JOINS == ("auto", "local", "spark")


def test_mirror_hosts_are_normalised() -> None:
    cfg = DecontaminateConfig(wikipedia_mirrors=(" WWW.Wikiwand.com ", "Mirror.Test"))
    assert cfg.wikipedia_mirrors == ("wikiwand.com", "mirror.test")


def test_the_cut_identity_leaves_out_speed_settings() -> None:
    base = DecontaminateConfig()
    fast = DecontaminateConfig(workers=4, join="spark", spark_min_reference_ngrams=1, spark=SparkConfig("local[2]"))
    assert fast.cut_identity() == base.cut_identity()  # the local and the Spark join give the same bytes
    assert set(base.cut_identity()) == {field.name for field in dataclasses.fields(base)} - {
        "workers",
        "join",
        "spark_min_reference_ngrams",
        "spark",
    }
    for change in ({"n": 8}, {"margin_chars": 0}, {"max_pieces": 2}, {"drop_wikipedia": False}, {"mask_pii": False}):
        assert DecontaminateConfig(**change).cut_identity() != base.cut_identity(), change


def test_flags_and_yaml_give_the_same_config() -> None:
    argv = ["--no-drop-wikipedia", "--wikipedia-mirrors", "mirror.test", "--n", "8", "--margin-chars", "0"]
    argv += ["--min-piece-chars", "50", "--max-pieces", "3", "--max-ngram-documents", "5"]
    argv += ["--wikipedia-max-ngram-documents", "20", "--workers", "2", "--join", "local"]
    argv += ["--spark-min-reference-ngrams", "1000", "--spark-master", "local[2]", "--no-mask-pii"]
    yaml_section = {
        "drop_wikipedia": False,
        "wikipedia_mirrors": "mirror.test",
        "n": 8,
        "margin_chars": 0,
        "min_piece_chars": 50,
        "max_pieces": 3,
        "max_ngram_documents": 5,
        "wikipedia_max_ngram_documents": 20,
        "mask_pii": False,
        "workers": 2,
        "join": "local",
        "spark_min_reference_ngrams": 1000,
        "spark": {"master": "local[2]"},
    }
    expected = DecontaminateConfig(
        drop_wikipedia=False,
        wikipedia_mirrors=("mirror.test",),
        n=8,
        margin_chars=0,
        min_piece_chars=50,
        max_pieces=3,
        max_ngram_documents=5,
        wikipedia_max_ngram_documents=20,
        mask_pii=False,
        workers=2,
        join="local",
        spark_min_reference_ngrams=1000,
        spark=SparkConfig("local[2]"),
    )
    section = section_model(DecontaminateConfig).model_validate(yaml_section)
    assert from_flags(*argv) == section.config() == expected
    assert from_flags() == section_model(DecontaminateConfig)().config() == DecontaminateConfig()


def test_a_bad_value_gets_the_same_message_from_a_flag_and_from_yaml() -> None:
    message = "max_pieces must be an integer between 1 and 1000000, got 0"
    with pytest.raises(ValueError, match=message):
        from_flags("--max-pieces", "0")
    with pytest.raises(ValidationError, match=message):
        section_model(DecontaminateConfig).model_validate({"max_pieces": 0})
    with pytest.raises(ValueError, match="--n: .*integer"):
        from_flags("--n", "thirteen")
    with pytest.raises(SystemExit):  # --join offers its choices
        from_flags("--join", "dask")


def test_the_cli_the_yaml_and_the_docs_list_the_same_settings() -> None:
    cli = cli_settings("decontaminate")
    assert set(cli) == yaml_keys(DecontaminateConfig)
    docs = docs_settings("decontaminate.md")  # the Spark settings under services.spark
    assert not disagreements(cli, docs)
    run_inputs = {"eval_sets", "evaluated_sets", "wikipedia_dumps"}
    assert set(docs) - {run_config_key(key) for key in cli} == run_inputs
    described = {key: row.default for key, row in docs.items() if shown(row.default) is None}
    assert described == {
        "services.spark.local_dir": "none: the temp dir",
        "services.spark.checkpoint_dir": "none",
        "services.spark.auth_secret_file": "none",
        "eval_sets": "none",
        "wikipedia_dumps": "none",
    }
