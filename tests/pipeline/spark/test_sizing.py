"""A local Spark session's memory follows its input (``driver_memory: auto``); an explicit size or a cluster master
keeps the configured one. Sessions are not started here: the sizing rules and the settings a session gets are."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.records import Document, document_id, to_table
from pipeline.services.config import SparkConfig
from pipeline.shards import ShardReadError, write_shard
from pipeline.spark import sizing
from pipeline.spark.sizing import driver_memory, local_heap_mb, local_memory_conf, uncompressed_bytes

MIB = 2**20


def write_docs(path: Path, texts: list[str]) -> None:
    documents = [
        Document(document_id(f"https://a.test/{i}"), f"https://a.test/{i}", "a.test", "", text, 3, datetime.now(UTC))
        for i, text in enumerate(texts)
    ]
    write_shard(to_table(documents, Document), path, shard_fingerprint="test")


def test_uncompressed_text_bytes_come_from_the_footers_of_every_shard(tmp_path: Path) -> None:
    rng = random.Random(7)
    words = ["paragraph", "of", "a", "web", "page", "café", "naïve", "the", "again"]
    pages = [" ".join(rng.choices(words, k=rng.randint(200, 2_000))) for _ in range(60)]  # zstd packs them tight
    write_docs(tmp_path / "part-00000.parquet", pages[:50])
    write_docs(tmp_path / "part-00001.parquet", pages[50:])
    shards = sorted(tmp_path.glob("*.parquet"))
    raw = sum(len(page.encode()) for page in pages)
    assert raw <= uncompressed_bytes(shards, "text") < raw + 60 * 8  # each value's length prefix besides its bytes
    assert raw > 3 * sum(shard.stat().st_size for shard in shards)  # far more than the files hold
    assert uncompressed_bytes(shards) > uncompressed_bytes(shards, "text")  # every column: ids, URLs, times too
    assert uncompressed_bytes([]) == 0


def test_a_damaged_shard_is_named(tmp_path: Path) -> None:
    (tmp_path / "part-00000.parquet").write_bytes(b"not parquet")
    with pytest.raises(ShardReadError, match="part-00000.parquet: no readable Parquet footer"):
        uncompressed_bytes([tmp_path / "part-00000.parquet"])


def test_the_heap_grows_with_the_input_within_its_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sizing, "physical_memory_mb", lambda: 24 * 1024)
    assert local_heap_mb(0) == 512 == local_heap_mb(-5)  # Spark refuses less than 450 MiB
    assert local_heap_mb(30 * MIB) == 527  # 6,000 web pages: the floor plus half their text
    assert local_heap_mb(2_000 * MIB) == 1512
    assert local_heap_mb(10**12) == 8192  # the cap
    monkeypatch.setattr(sizing, "physical_memory_mb", lambda: 4 * 1024)
    assert local_heap_mb(10**12) == 2048  # never more than half the machine
    monkeypatch.setattr(sizing, "physical_memory_mb", lambda: 512)
    assert local_heap_mb(10**12) == 512  # nor less than Spark accepts


def test_auto_sizes_local_sessions_only_and_an_explicit_size_is_kept() -> None:
    assert driver_memory("auto", is_local=True, input_bytes=None) == "512m"
    assert driver_memory("auto", is_local=True, input_bytes=1_000 * MIB) == "1012m"
    assert driver_memory("auto", is_local=False, input_bytes=1_000 * MIB) == "2g"  # a cluster driver only plans
    assert driver_memory("6g", is_local=True, input_bytes=1_000 * MIB) == "6g"
    assert set(local_memory_conf()) == {
        "spark.driver.extraJavaOptions",
        "spark.sql.parquet.columnarReaderBatchSize",
        "spark.sql.execution.arrow.maxBytesPerBatch",
    }


@pytest.mark.parametrize("value", ["auto", "512m", "4g", "2048"])
def test_driver_memory_takes_auto_or_a_size(value: str) -> None:
    assert SparkConfig(driver_memory=value).driver_memory == value


@pytest.mark.parametrize("value", ["Auto", "lots", "4 g", ""])
def test_a_bad_driver_memory_is_named(value: str) -> None:
    with pytest.raises(ValueError, match="driver_memory must be auto or a size"):
        SparkConfig(driver_memory=value)


def test_the_default_is_auto() -> None:
    assert SparkConfig().driver_memory == "auto"


def session_settings(monkeypatch: pytest.MonkeyPatch, cfg: SparkConfig, input_bytes: int | None) -> dict[str, str]:
    """The settings ``build_session`` hands Spark for ``cfg`` (captured before any JVM starts)."""
    from pipeline.spark import session

    captured: dict[str, str] = {}

    class Started:
        sparkContext = type("Context", (), {"setLogLevel": lambda self, level: None})()

    def capture(builder: object) -> Started:
        captured.update(builder._options)  # pyspark keeps the builder's settings there
        return Started()

    for name in ("SPARK_LOCAL_IP", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(session, "_get_or_create", capture)
    session.build_session(cfg, input_bytes)
    return captured


def test_a_local_session_is_sized_to_its_input_and_a_cluster_keeps_its_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sizing, "physical_memory_mb", lambda: 24 * 1024)
    local = session_settings(monkeypatch, SparkConfig(), 200 * MIB)
    assert local["spark.driver.memory"] == "612m" and "-XX:+UseSerialGC" in local["spark.driver.extraJavaOptions"]
    assert local["spark.sql.parquet.columnarReaderBatchSize"] == "512"
    cluster = session_settings(monkeypatch, SparkConfig(master="spark://spark-master.test:7077"), 200 * MIB)
    assert cluster["spark.driver.memory"] == "2g"
    assert not {key for key in cluster if "extraJavaOptions" in key or "BatchSize" in key or "maxBytes" in key}
    mine = ("spark.driver.extraJavaOptions", "-XX:+UseParallelGC")
    explicit = session_settings(monkeypatch, SparkConfig(driver_memory="3g", conf=(mine,)), 200 * MIB)
    assert explicit["spark.driver.memory"] == "3g" and explicit["spark.driver.extraJavaOptions"] == mine[1]
