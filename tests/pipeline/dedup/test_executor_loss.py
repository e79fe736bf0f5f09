"""Executor loss on a ``local-cluster[2,1,1024]`` master: the dedup result equals local Spark's, byte for byte.

pip's pyspark runs ``local-cluster`` here: a standalone master and two workers inside the driver's
JVM, each starting its executor as a JVM of its own. ``executor_loss_job.py`` runs the stage on
it in a separate process and SIGKILLs one executor while it sketches the first signatures task
and another before the second connected-components round (whose input is then only in the
reliable checkpoint). Executor JVMs start from SPARK_HOME, whose ``work/`` folder they write: the
test points SPARK_HOME at a temporary copy made of links, so nothing is written into the venv.

It takes about a minute on two cores (two JVM starts, two executor replacements), so it runs
only when ``WEBTEXT_SPARK_CLUSTER_TESTS=1``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pyspark
import pytest
from dedup_fixtures import edited, make_document, random_words, write_docs
from executor_loss_job import CONFIG

from pipeline.dedup.stage import run_dedup
from pipeline.shards import read_json, read_stats

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
ENABLE = "WEBTEXT_SPARK_CLUSTER_TESTS"

pytestmark = [
    pytest.mark.skipif(os.environ.get(ENABLE) != "1", reason=f"a minute of local-cluster Spark: set {ENABLE}=1"),
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds executor JVMs through /proc (Linux)"),
]


def chained_corpus(directory: Path) -> list[Path]:
    """Three docs shards (the middle one empty): chains of near duplicates, exact copies, unrelated texts."""
    rng = random.Random(5)
    documents = []
    for family in range(8):
        words = random_words(rng, 300)
        for link in range(4):  # each link ~1.5% away from the last: a chain, several components rounds
            documents.append(make_document(f"f{family}-link{link}", " ".join(words), karma=link, hours=family))
            words = edited(words, rng, 0.015, offset=7 * link + 3)
        documents.append(make_document(f"f{family}-copy", documents[-4].text, karma=0))
    documents += [make_document(f"lone{index}", " ".join(random_words(rng, 200))) for index in range(10)]
    rng.shuffle(documents)
    return write_docs(directory, [documents[:25], [], documents[25:]])


def spark_home(directory: Path) -> Path:
    """pip's pyspark folder as links, so the executors' ``work/`` folder lands here and not in the venv."""
    package = Path(pyspark.__file__).parent
    directory.mkdir()
    for entry in package.iterdir():
        if entry.name != "work":
            (directory / entry.name).symlink_to(entry)
    return directory


def run_on_local_cluster(docs: Path, out: Path, tmp_path: Path, *options: str) -> dict:
    environment = os.environ | {
        "SPARK_HOME": str(spark_home(tmp_path / f"spark-home{len(options)}")),
        "SPARK_LOCAL_IP": "127.0.0.1",  # the master, workers and executors listen on loopback only
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    report = out.parent / f"{out.name}-report.json"
    command = [sys.executable, str(HERE / "executor_loss_job.py"), str(docs), str(out), str(report), *options]
    finished = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=400)
    assert report.exists(), f"the job wrote no report (exit {finished.returncode}):\n{finished.stderr[-4000:]}"
    return json.loads(report.read_text())


def shard_hashes(directory: Path) -> dict[str, str]:
    return {shard.name: read_stats(shard)["sha256"] for shard in sorted(directory.glob("part-*.parquet"))}


def decision_rows(out: Path) -> set[tuple]:
    table = ds.dataset(out / "duplicates", format="parquet", partitioning="hive").to_table()
    return {tuple(row.values()) for row in table.to_pylist()}


def test_executor_loss_gives_the_local_result(spark, tmp_path: Path) -> None:
    docs = chained_corpus(tmp_path / "docs")[0].parent
    local = run_dedup(docs, tmp_path / "local", CONFIG, spark=spark)
    report = run_on_local_cluster(docs, tmp_path / "cluster", tmp_path)
    assert report["ok"], report
    assert report["master"] == "local-cluster[2,1,1024]"
    assert [kill["when"] for kill in report["kills"]] == ["first signatures task", "before components round 2"]
    assert report["outcomes"] == local.outcomes and report["counts"] == local.counts
    for folder in ("signatures", "."):  # executor-written signatures and the survivors: the same bytes
        assert shard_hashes(tmp_path / "cluster" / folder) == shard_hashes(tmp_path / "local" / folder)
    assert decision_rows(tmp_path / "cluster") == decision_rows(tmp_path / "local")
    assert read_json(tmp_path / "cluster" / "clusters.json") == read_json(tmp_path / "local" / "clusters.json")
    assert not (tmp_path / "cluster" / "_scratch" / "checkpoints").exists()  # cleaned after the run


def test_local_checkpoints_do_not_survive_executor_loss(tmp_path: Path) -> None:
    """The same kills with ``localCheckpoint`` on the cluster: the second one loses round 1's blocks."""
    docs = chained_corpus(tmp_path / "docs")[0].parent
    report = run_on_local_cluster(docs, tmp_path / "cluster", tmp_path, "--local-checkpoints")
    assert not report["ok"] and "CHECKPOINT_RDD_BLOCK_ID_NOT_FOUND" in report["error"], report
