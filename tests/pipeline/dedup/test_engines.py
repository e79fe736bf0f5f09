"""The in-process engine against Spark: the same signatures shards, decision, kept and rejected shards, byte for
byte, on a corpus of many near-duplicate families (buckets of several documents, where the hub decides which
edges are verified), alone and decided against an earlier output."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from dedup_fixtures import edited, make_document, random_ideographs, random_words, write_docs
from pyspark.sql import functions as F

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.engine import chosen_engine
from pipeline.dedup.local.nodes import spark_xxhash64
from pipeline.dedup.stage import run_dedup
from pipeline.records import Document
from pipeline.services.config import SparkConfig
from pipeline.shards import file_sha256, read_json, read_stats

ENGINE_ONLY = {"engine", "cc_rounds"}  # what the statistics say of the engine itself


def families(rng: random.Random, count: int, prefix: str) -> list[Document]:
    """``count`` texts, each with up to five variants edited around the 0.8 threshold, copies and odd ones."""
    documents = []
    for family in range(count):
        words = random_ideographs(rng, 300) if family % 7 == 0 else random_words(rng, rng.randint(40, 400))
        joiner = "" if family % 7 == 0 else " "
        documents.append(make_document(f"{prefix}{family}", joiner.join(words), karma=rng.randint(1, 9)))
        for variant in range(rng.randint(0, 5)):
            fraction = rng.choice([0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08])
            text = joiner.join(edited(words, rng, fraction, offset=rng.randint(0, 20)) if fraction else words)
            text = text.upper() if variant == 3 else text
            karma, hours = rng.randint(1, 9), rng.randint(0, 48)
            documents.append(make_document(f"{prefix}{family}-{variant}", text, karma=karma, hours=hours))
    documents += [make_document(f"{prefix}empty", ""), make_document(f"{prefix}tiny", "Hello world")]
    rng.shuffle(documents)
    return documents


def outputs(out: Path) -> dict[str, Any]:
    """Everything dedup wrote that a reader sees, as bytes' digests and rows."""
    members = ds.dataset(out / "duplicates", format="parquet", partitioning="hive").to_table()
    rows = sorted(
        (row["shard"], row["id"], row["cluster_id"], row["kept_id"], row["jaccard"], row["reason"])
        for row in members.to_pylist()
    )
    statistics = read_json(out / "clusters.json")["statistics"]
    return {
        "signatures": {
            path.name: read_stats(path)["sha256"] for path in sorted((out / "signatures").glob("*.parquet"))
        },
        "kept": {path.name: file_sha256(path) for path in sorted(out.glob("part-*.parquet"))},
        "rejected": {
            str(path.relative_to(out)): file_sha256(path) for path in sorted(out.rglob("rejected/**/*.parquet"))
        },
        "members": rows,
        "statistics": {key: value for key, value in statistics.items() if key not in ENGINE_ONLY},
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(5)
    documents = families(rng, 60, "f")
    root = tmp_path_factory.mktemp("engines")
    write_docs(root / "docs", [documents[: len(documents) // 3], documents[len(documents) // 3 :]])
    night = [*families(random.Random(6), 10, "n"), dataclasses.replace(documents[0], id="copy-of-first")]
    write_docs(root / "night", [night])
    return root


@pytest.mark.parametrize("verify", [True, False])
def test_both_engines_write_the_same_bytes(corpus: Path, spark, verify: bool) -> None:
    results = {}
    for engine in ("spark", "local"):
        cfg = DedupConfig(engine=engine, verify=verify)
        summary = run_dedup(corpus / "docs", corpus / f"{engine}-{verify}", cfg, spark=spark)
        assert summary.details["engine"] == engine
        results[engine] = outputs(corpus / f"{engine}-{verify}")
    assert results["local"] == results["spark"]
    statistics = results["local"]["statistics"]
    assert statistics["clusters"] >= 30 and max(map(int, statistics["cluster_sizes"])) >= 4  # buckets of many
    if verify:  # some candidate edges fail verification: which are checked depends on each bucket's hub
        assert statistics["candidate_edges"] > statistics["verified_edges"]


def test_both_engines_decide_the_same_against_an_earlier_output(corpus: Path, spark) -> None:
    earlier = corpus / "earlier"
    run_dedup(corpus / "docs", earlier, DedupConfig(engine="local"), spark=spark)
    results = {}
    for engine in ("spark", "local"):
        out = corpus / f"night-{engine}"
        summary = run_dedup(corpus / "night", out, DedupConfig(engine=engine), against=earlier, spark=spark)
        results[engine] = outputs(out)
        assert summary.details["clusters"]["new_documents_matching_reference"] >= 1
    assert results["local"] == results["spark"]


def test_switching_engines_reuses_the_signatures_and_the_decision(corpus: Path, spark) -> None:
    out = corpus / "switched"
    run_dedup(corpus / "docs", out, DedupConfig(engine="spark"), spark=spark)
    again = run_dedup(corpus / "docs", out, DedupConfig(engine="local"), spark=None)
    assert again.counts["signature_shards_computed"] == 0 and again.details["decision_reused"]


def test_node_ids_are_sparks_xxhash64(spark) -> None:
    rows = [(True, "part-00000.parquet", "abc"), (False, "part-00001.parquet", "ünïcode-€-日本"), (False, "", "")]
    frame = spark.createDataFrame(rows, "is_reference boolean, shard string, id string")
    for row in frame.select("*", F.xxhash64("is_reference", "shard", "id").alias("node")).collect():
        assert spark_xxhash64(row["is_reference"], row["shard"], row["id"]) == row["node"]


def test_auto_is_local_for_small_inputs_on_a_local_master_only() -> None:
    assert chosen_engine(DedupConfig(), 1_000) == "local"
    assert chosen_engine(DedupConfig(local_max_documents=999), 1_000) == "spark"
    assert chosen_engine(DedupConfig(spark=SparkConfig(master="spark://head:7077")), 10) == "spark"
    assert chosen_engine(DedupConfig(engine="local", spark=SparkConfig(master="spark://head:7077")), 10) == "local"
