"""The global step: read every signatures shard (and a reference corpus's), cluster, write the decision.

The decision (every member of every duplicate cluster) is written by Spark partitioned by
source shard into a scratch directory, then renamed to ``duplicates/``; only small
statistics (counts, the cluster-size histogram, the largest clusters) reach the driver.
The steps between are checkpointed as ``checkpoints`` explains.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.spark.checkpoints import Checkpoints
from pipeline.dedup.spark.clusters import KEPT, decide

LARGEST_CLUSTERS = 10


def read_signatures(spark: SparkSession, shards: list[Path], is_reference: bool) -> DataFrame:
    frame = spark.read.parquet(*[str(shard) for shard in shards])
    return frame.withColumn("shard", F.col("_metadata.file_name")).withColumn("is_reference", F.lit(is_reference))


def reference_signatures(spark: SparkSession, signature_shards: list[Path], kept_shards: list[Path]) -> DataFrame:
    """A reference corpus's signatures, of the documents it kept (its output shards) only."""
    kept = spark.read.parquet(*[str(shard) for shard in kept_shards]).select(
        "id", F.col("_metadata.file_name").alias("shard")
    )
    return read_signatures(spark, signature_shards, is_reference=True).join(kept, ["id", "shard"], "left_semi")


def _statistics(members: DataFrame) -> dict[str, Any]:
    """Counts by reason, the cluster-size histogram and the largest clusters: all small, so collected."""
    reasons = {
        row["reason"]: row["count"] for row in members.where("not is_reference").groupBy("reason").count().collect()
    }
    clusters = members.groupBy("cluster_id").agg(
        F.first("size").alias("size"),
        F.max(F.when(F.col("reason") == KEPT, F.col("kept_id"))).alias("kept_id"),
        F.max("is_reference").alias("has_reference"),
        F.sum(F.when(F.col("is_reference"), 0).otherwise(1)).alias("new_members"),
    )
    histogram = {row["size"]: row["count"] for row in clusters.groupBy("size").count().collect()}
    largest = clusters.orderBy(F.desc("size"), "cluster_id").limit(LARGEST_CLUSTERS).collect()
    against = clusters.where("has_reference").agg(F.sum("new_members")).first()[0]
    return {
        "reasons": dict(sorted(reasons.items())),
        "clusters": sum(histogram.values()),
        "cluster_sizes": {str(size): count for size, count in sorted(histogram.items())},
        "largest_clusters": [
            {"cluster_id": row["cluster_id"], "kept_id": row["kept_id"], "size": row["size"]} for row in largest
        ],
        "new_documents_matching_reference": int(against or 0),
    }


def cluster_and_write(
    spark: SparkSession,
    signatures: DataFrame,
    cfg: DedupConfig,
    duplicates_dir: Path,
    scratch: Path,
    checkpoint_dir: Path,
) -> dict[str, Any]:
    """Decide every cluster of ``signatures`` and write the members of the non-reference ones to ``duplicates_dir``.

    ``checkpoint_dir`` holds the steps' reliable checkpoints when ``cfg.spark.checkpoint_dir`` is unset
    and the master is not local; it is removed after a successful run (and before each run).
    """
    bands, rows = cfg.banding
    shutil.rmtree(checkpoint_dir, ignore_errors=True)  # what a failed run left behind
    with Checkpoints(spark, cfg.spark.checkpoint_dir, str(checkpoint_dir)) as checkpoints:
        decision = decide(
            signatures, cfg.threshold, bands, rows, cfg.num_perm, cfg.verify, cfg.max_iterations, checkpoints
        )
        shutil.rmtree(scratch, ignore_errors=True)
        own = decision.members.where("not is_reference").drop("is_reference", "size")
        own.repartition("shard").write.partitionBy("shard").parquet(str(scratch))
        statistics = {
            "engine": "spark",
            **decision.counts,
            **_statistics(decision.members),
            "bands": bands,
            "rows": rows,
        }
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    shutil.rmtree(duplicates_dir, ignore_errors=True)
    scratch.rename(duplicates_dir)
    return statistics
