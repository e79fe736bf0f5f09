"""Signature shards are written whole by the executors (or the local engine); the driver only moves them into place
and writes stats.

Each shard must be byte-for-byte what the driver used to write with ``write_shard`` from the same
rows (sorted by id), whatever the Arrow batches or shuffle partitions were.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dedup_fixtures import make_document, random_ideographs, random_words, write_docs

import pipeline.dedup.local.signatures as local_signatures
import pipeline.dedup.spark.signatures as spark_signatures
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.engine import Engine, LocalEngine, SparkEngine
from pipeline.dedup.minhash import Permutations, sketch
from pipeline.dedup.signature_rows import SIGNATURE_SCHEMA
from pipeline.dedup.spark.job import read_signatures
from pipeline.dedup.stage import _signature_fingerprint, _update_signatures
from pipeline.records import Document
from pipeline.shards import file_sha256, read_stats, write_shard

CONFIG = DedupConfig(num_perm=64)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[list[Document]]]:
    """Three docs shards, the middle one without documents; texts of every length, and ids out of order."""
    rng = random.Random(3)
    first = [make_document(f"a{index}", " ".join(random_words(rng, rng.randint(0, 900)))) for index in range(40)]
    first += [make_document("empty", ""), make_document("chinese", "".join(random_ideographs(rng, 300)))]
    last = [make_document(f"b{index}", " ".join(random_words(rng, 50)), karma=index, hours=index) for index in range(9)]
    shards = [first, [], last]
    return write_docs(tmp_path_factory.mktemp("signatures") / "docs", shards), shards


def reference_table(documents: list[Document], cfg: DedupConfig) -> pa.Table:
    """The shard's rows computed in plain Python, sorted by id."""
    permutations = Permutations.make(cfg.num_perm, cfg.seed)
    rows = []
    for document in sorted(documents, key=lambda document: document.id):
        item = sketch(document.text, permutations, cfg.shingle_size)
        rows.append(
            {
                "id": document.id,
                "karma": document.karma,
                "seen": document.first_seen or document.fetched_at,
                "text_hash": item.text_hash,
                "n_shingles": item.n_shingles,
                "signature": np.asarray(item.signature, np.uint32).view(np.int32).tolist(),
            }
        )
    return pa.Table.from_pylist(rows, schema=SIGNATURE_SCHEMA)


@pytest.fixture(params=["spark", "local"])
def engine(spark, request: pytest.FixtureRequest) -> Engine:
    """Each engine: Spark's executors and this process write the same signatures shards."""
    local = LocalEngine(dataclasses.replace(CONFIG, workers=1))  # in this process: the row-group patch reaches it
    return SparkEngine(CONFIG, spark) if request.param == "spark" else local


def test_engine_written_shards_equal_the_driver_written_ones(
    engine, spark, corpus, tmp_path: Path, monkeypatch
) -> None:
    inputs, documents = corpus
    for module in (spark_signatures, local_signatures):  # several row groups per shard, cut across batches
        monkeypatch.setattr(module, "ROW_GROUP_ROWS", 16)
    signatures, computed = _update_signatures(engine, inputs, tmp_path / "out", CONFIG)
    assert computed == 3 and [path.name for path in signatures] == [path.name for path in inputs]
    assert not (tmp_path / "out" / "_scratch" / "signatures").exists()
    for shard, source, shard_documents in zip(signatures, inputs, documents, strict=True):
        stats = read_stats(shard)
        assert stats == {
            "shard": shard.name,
            "rows": len(shard_documents),
            "bytes": shard.stat().st_size,
            "sha256": file_sha256(shard),
            "fingerprint": _signature_fingerprint(source, CONFIG),
            "signature": CONFIG.signature_identity(),
            "docs_shard": source.name,
        }
        table = pq.read_table(shard)
        assert table.schema == SIGNATURE_SCHEMA and table.equals(reference_table(shard_documents, CONFIG))
        assert pq.read_metadata(shard).num_rows == len(shard_documents)
    assert pq.read_metadata(signatures[0]).num_row_groups == 3  # 42 rows in groups of 16
    assert read_signatures(spark, signatures, is_reference=False).count() == 51  # the empty shard reads too


def test_rewriting_gives_the_same_bytes_and_a_rerun_skips(engine, spark, corpus, tmp_path: Path) -> None:
    inputs, _ = corpus
    signatures, _ = _update_signatures(engine, inputs, tmp_path / "out", CONFIG)
    first = {path.name: file_sha256(path) for path in signatures}
    _, computed = _update_signatures(engine, inputs, tmp_path / "out", CONFIG)
    assert computed == 0
    for path in signatures:
        path.unlink()
    previous = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "1")  # every shard in one task this time
    try:
        again, computed = _update_signatures(engine, inputs, tmp_path / "out", CONFIG)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", previous)
    assert computed == 3 and {path.name: file_sha256(path) for path in again} == first


def test_a_small_shard_is_byte_identical_to_write_shard(engine, corpus, tmp_path: Path) -> None:
    inputs, documents = corpus
    signatures, _ = _update_signatures(engine, inputs[2:], tmp_path / "out", CONFIG)
    expected = tmp_path / "expected" / "part-00002.parquet"
    write_shard(reference_table(documents[2], CONFIG), expected, shard_fingerprint="driver")
    assert file_sha256(signatures[0]) == file_sha256(expected)
