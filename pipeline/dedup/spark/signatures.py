"""Signatures in Spark: every document's exact key and MinHash signature, one signatures shard per docs shard.

The texts are read by Spark and sketched by Python workers (``mapInArrow``), so on a cluster
the work spreads over its executors. The rows are then shuffled by source shard, so one task
streams all of a shard's rows, sorted by id, into one Parquet file (``shard_files``): that
file *is* the finished signatures shard. The driver collects one row of statistics per
shard, never a signature; it moves each file into place and writes its stats file
(``pipeline.spark.adopt``). A later run (or the nightly increment) recomputes only the
shards that are new or changed, and ``--against`` reuses them as they are.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline.dedup.signature_rows import ROW_GROUP_ROWS, SIGNATURE_SCHEMA
from pipeline.dedup.signature_rows import sketch_batches as _sketch_batches  # by this name: tests patch it
from pipeline.spark.adopt import WrittenShard
from pipeline.spark.shard_files import WRITTEN_SCHEMA, write_shard_files

SPARK_SIGNATURE_SCHEMA = (
    "id string, karma long, seen timestamp, text_hash string, n_shingles long, signature array<int>, shard string"
)


def _documents(spark: SparkSession, shards: list[Path]) -> DataFrame:
    """The docs shards' columns dedup needs; ``seen`` is first_seen, or fetched_at for shards that lack it."""
    frame = spark.read.parquet(*[str(shard) for shard in shards])
    seen = F.coalesce("first_seen", "fetched_at") if "first_seen" in frame.columns else F.col("fetched_at")
    return frame.select(
        "id",
        "karma",
        seen.alias("seen"),
        "text",
        F.col("_metadata.file_name").alias("shard"),
    )


def compute_signatures(
    spark: SparkSession, shards: list[Path], scratch: Path, num_perm: int, seed: int, shingle_size: int
) -> dict[str, WrittenShard | None]:
    """Signature shards of ``shards`` written by the executors under ``scratch``: shard name -> its file
    (rows sorted by id) and statistics, or None for a shard with no documents. One Spark job for all."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    sketcher = functools.partial(_sketch_batches, num_perm=num_perm, seed=seed, shingle_size=shingle_size)
    signatures = _documents(spark, shards).mapInArrow(sketcher, SPARK_SIGNATURE_SCHEMA)
    by_shard = signatures.repartition("shard").sortWithinPartitions("shard", "id")  # a shard's rows: one task
    writer = functools.partial(
        write_shard_files, directory=str(scratch), schema=SIGNATURE_SCHEMA, row_group_rows=ROW_GROUP_ROWS
    )
    written = {
        row["shard"]: WrittenShard(Path(row["path"]), row["rows"], row["bytes"], row["sha256"])
        for row in by_shard.mapInArrow(writer, WRITTEN_SCHEMA).collect()  # one small row per shard
    }
    return {shard.name: written.get(shard.name) for shard in shards}
