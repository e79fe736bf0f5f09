"""FilterConfig and its three parts validate themselves with messages that name the bad field; its flags, YAML section
and docs agree."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from config_contract import cli_settings, command_parser, disagreements, docs_settings, shown, yaml_keys
from pydantic import ValidationError

from pipeline.filter.config import (
    GOPHER_STOP_WORDS,
    FilterConfig,
    HeuristicConfig,
    LanguageConfig,
    QualityConfig,
    QualityTrainConfig,
)
from pipeline.settings import config_from_arguments, section_model


def from_flags(*argv: str) -> FilterConfig:
    args = command_parser("filter").parse_args(["docs", "--out", "filtered", *argv])
    return config_from_arguments(FilterConfig, args)


@pytest.mark.parametrize(
    ("cls", "overrides", "message"),
    [
        (LanguageConfig, {"languages": ("english",)}, "languages must be ISO 639 codes"),
        (LanguageConfig, {"languages": ()}, "languages must be ISO 639 codes"),
        (LanguageConfig, {"min_score": 1.5}, "language min_score must be a number between 0.0 and 1.0"),
        (LanguageConfig, {"crosscheck_max_chars": -1}, "crosscheck_max_chars must be an integer"),
        (LanguageConfig, {"crosscheck_below_score": 2}, "crosscheck_below_score must be a number"),
        (HeuristicConfig, {"languages": ("EN",)}, "heuristics languages must be ISO 639 codes"),
        (HeuristicConfig, {"min_words": -1}, "min_words must be an integer"),
        (HeuristicConfig, {"min_words": 20, "max_words": 10}, "max_words must be an integer between 20 and"),
        (HeuristicConfig, {"max_mean_word_length": 2.0}, "max_mean_word_length must be a number between 3.0 and"),
        (HeuristicConfig, {"max_symbol_ratio": -0.1}, "max_symbol_ratio"),
        (HeuristicConfig, {"max_bullet_line_share": 1.5}, "max_bullet_line_share"),
        (HeuristicConfig, {"max_ellipsis_line_share": -0.1}, "max_ellipsis_line_share"),
        (HeuristicConfig, {"min_alphabetic_word_fraction": 1.1}, "min_alphabetic_word_fraction"),
        (HeuristicConfig, {"max_duplicate_line_fraction": 2}, "max_duplicate_line_fraction"),
        (HeuristicConfig, {"max_duplicate_line_char_fraction": -1}, "max_duplicate_line_char_fraction"),
        (HeuristicConfig, {"max_duplicate_paragraph_fraction": 2}, "max_duplicate_paragraph_fraction"),
        (HeuristicConfig, {"max_duplicate_paragraph_char_fraction": 2}, "max_duplicate_paragraph_char_fraction"),
        (HeuristicConfig, {"min_stop_words": 9}, "min_stop_words must be an integer between 0 and 8"),
        (HeuristicConfig, {"stop_words": ("the", "Of")}, "stop_words must be lower-case words"),
        (HeuristicConfig, {"top_ngram_max_fraction": ((2,),)}, r"top_ngram_max_fraction entries are \(n, max_"),
        (HeuristicConfig, {"top_ngram_max_fraction": ((0, 0.2),)}, "top_ngram_max_fraction n must be an integer"),
        (
            HeuristicConfig,
            {"duplicate_ngram_max_fraction": ((5, 1.5),)},
            "duplicate_ngram_max_fraction fraction for n=5",
        ),
        (QualityConfig, {"selection": "best"}, "quality selection must be one of threshold, pareto, none; got 'best'"),
        (QualityConfig, {"threshold": 2}, "quality threshold must be a number between 0.0 and 1.0"),
        (QualityConfig, {"pareto_alpha": 0}, "pareto_alpha must be a number between 0.01 and"),
        (QualityConfig, {"seed": -1}, "quality seed must be an integer"),
        (FilterConfig, {"batch_size": 0}, "batch_size must be an integer between 1 and 1000000, got 0"),
        (FilterConfig, {"workers": 0}, "workers must be an integer between 1 and 1024, got 0"),
    ],
)
def test_bad_values_are_refused_naming_the_field(cls: type, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cls(**overrides)


def test_defaults_work_on_one_machine() -> None:
    cfg = FilterConfig()
    assert (cfg.batch_size, cfg.workers) == (1024, None)
    language = cfg.language
    assert (language.languages, language.min_score, language.model_path, language.crosscheck) == (
        ("en",),
        0.65,
        None,
        True,
    )
    heuristics = cfg.heuristics  # Gopher's thresholds
    assert heuristics.enabled and heuristics.languages == ("en",)
    assert (heuristics.min_words, heuristics.max_words, heuristics.min_stop_words) == (50, 100_000, 2)
    assert heuristics.stop_words == GOPHER_STOP_WORDS and len(GOPHER_STOP_WORDS) == 8
    assert heuristics.top_ngram_max_fraction == ((2, 0.2), (3, 0.18), (4, 0.16))
    quality = cfg.quality  # no model: nothing is scored, nothing is dropped for quality
    assert (quality.model_path, quality.selection, quality.threshold) == (None, "threshold", 0.5)


def test_the_decision_identity_leaves_out_speed_settings() -> None:
    base = FilterConfig()
    assert FilterConfig(batch_size=8, workers=3).decision_identity() == base.decision_identity()
    changes = [
        dataclasses.replace(base, language=LanguageConfig(min_score=0.5)),
        dataclasses.replace(base, heuristics=HeuristicConfig(min_words=10)),
        dataclasses.replace(base, quality=QualityConfig(selection="pareto")),
    ]
    for changed in changes:
        assert changed.decision_identity() != base.decision_identity()
    assert base.describe() == {**base.decision_identity(), "batch_size": 1024, "workers": None}


def test_flags_and_yaml_give_the_same_config() -> None:
    argv = ["--languages", "en,de", "--min-language-score", "0.5", "--no-crosscheck", "--no-heuristics"]
    argv += ["--min-words", "20", "--top-ngram-max-fraction", "2=0.3", "--stop-words", "the,and"]
    argv += ["--quality-model", "q.bin", "--selection", "pareto", "--quality-threshold", "0.7", "--seed", "4"]
    argv += ["--batch-size", "64", "--workers", "2"]
    yaml_section = {
        "language": {"languages": ["en", "de"], "min_score": 0.5, "crosscheck": False},
        "heuristics": {"enabled": False, "min_words": 20, "top_ngram_max_fraction": {2: 0.3}, "stop_words": "the,and"},
        "quality": {"model_path": "q.bin", "selection": "pareto", "threshold": 0.7, "seed": 4},
        "batch_size": 64,
        "workers": 2,
    }
    expected = FilterConfig(
        language=LanguageConfig(languages=("en", "de"), min_score=0.5, crosscheck=False),
        heuristics=HeuristicConfig(
            enabled=False, min_words=20, top_ngram_max_fraction=((2, 0.3),), stop_words=("the", "and")
        ),
        quality=QualityConfig(model_path="q.bin", selection="pareto", threshold=0.7, seed=4),
        batch_size=64,
        workers=2,
    )
    assert from_flags(*argv) == section_model(FilterConfig).model_validate(yaml_section).config() == expected
    assert from_flags() == section_model(FilterConfig)().config() == FilterConfig()


def test_a_bad_value_gets_the_same_message_from_a_flag_and_from_yaml() -> None:
    message = "language min_score must be a number between 0.0 and 1.0, got 1.5"
    with pytest.raises(ValueError, match=message):
        from_flags("--min-language-score", "1.5")
    with pytest.raises(ValidationError, match=message):
        section_model(FilterConfig).model_validate({"language": {"min_score": 1.5}})
    with pytest.raises(ValueError, match="--top-ngram-max-fraction: .*KEY=VALUE"):
        from_flags("--top-ngram-max-fraction", "0.3")
    with pytest.raises(SystemExit):  # --selection offers its choices
        from_flags("--selection", "best")


def test_the_cli_the_yaml_and_the_docs_list_the_same_settings() -> None:
    cli, train = cli_settings("filter"), cli_settings("quality train")
    assert set(cli) == yaml_keys(FilterConfig) and set(train) == yaml_keys(QualityTrainConfig)
    docs = docs_settings("filter.md")  # the page has both tables
    assert not disagreements(cli, docs) and not disagreements(train, docs)
    assert set(docs) - set(cli) - set(train) == {"positives", "negatives"}  # quality train's run inputs
    described = {key: row.default for key, row in docs.items() if shown(row.default) is None}
    assert described == {
        "heuristics.stop_words": f"Gopher's {len(GOPHER_STOP_WORDS)}",
        "workers": "one per core",
        "positives": "none",
        "negatives": "required",
    }
