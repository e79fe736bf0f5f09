"""LSH banding matches datasketch; bad settings are refused with the field named."""

from __future__ import annotations

import argparse

import pytest
from datasketch.lsh import _optimal_param

from pipeline.dedup.config import DedupConfig, SparkConfig
from pipeline.dedup.lsh_params import optimal_bands_rows
from pipeline.settings import add_config_arguments, config_from_arguments, section_defaults, section_model


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_banding_equals_datasketch(threshold: float, num_perm: int) -> None:
    assert optimal_bands_rows(threshold, num_perm, 0.5, 0.5) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_default_banding_and_override() -> None:
    assert DedupConfig().banding == (9, 13)
    assert DedupConfig(bands=14, rows=8).banding == (14, 8)
    assert DedupConfig(false_negative_weight=0.9).banding == _optimal_param(0.8, 128, 0.1, 0.9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 1.5}, "threshold"),
        ({"num_perm": 4}, "num_perm"),
        ({"bands": 10}, "bands and rows"),
        ({"bands": 20, "rows": 10}, "exceeds num_perm"),
        ({"shingle_size": 0}, "shingle_size"),
        ({"spark": {"master": "nowhere"}}, "spark master"),
        ({"spark": {"checkpoint_dir": " "}}, "spark checkpoint_dir"),
    ],
)
def test_bad_settings_name_the_field(kwargs: dict, message: str) -> None:
    if "spark" in kwargs:
        with pytest.raises(ValueError, match=message):
            SparkConfig(**kwargs["spark"])
        return
    with pytest.raises(ValueError, match=message):
        DedupConfig(**kwargs)


def test_signature_identity_ignores_clustering_settings() -> None:
    assert DedupConfig(threshold=0.7).signature_identity() == DedupConfig().signature_identity()
    assert DedupConfig(threshold=0.7).decision_identity() != DedupConfig().decision_identity()


def test_checkpoint_dir_is_a_flag_and_a_yaml_key() -> None:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, DedupConfig)
    args = parser.parse_args(["--spark-checkpoint-dir", "hdfs://namenode/webtext/checkpoints"])
    assert config_from_arguments(DedupConfig, args).spark.checkpoint_dir == "hdfs://namenode/webtext/checkpoints"
    assert section_defaults(DedupConfig)["spark"]["checkpoint_dir"] is None
    section = section_model(DedupConfig)(spark={"checkpoint_dir": "/shared/checkpoints"})
    assert section.config().spark.checkpoint_dir == "/shared/checkpoints"


def test_a_local_spark_session_listens_on_loopback_only(spark) -> None:
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.driver.host") == "127.0.0.1" and conf.get("spark.driver.bindAddress") == "127.0.0.1"
