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
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline.dedup.minhash import Permutations, sketch
from pipeline.spark.adopt import WrittenShard
from pipeline.spark.shard_files import WRITTEN_SCHEMA, write_shard_files

SIGNATURE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("karma", pa.int64(), nullable=False),
        pa.field("seen", pa.timestamp("us", tz="UTC")),
        pa.field("text_hash", pa.string(), nullable=False),
        pa.field("n_shingles", pa.int64(), nullable=False),
        pa.field("signature", pa.list_(pa.int32()), nullable=False),  # uint32 values, bit-cast to int32
    ]
)
ROW_GROUP_ROWS = 16_384  # ~9 MB of signatures at 128 permutations: what one writing task buffers at most
SPARK_SIGNATURE_SCHEMA = (
    "id string, karma long, seen timestamp, text_hash string, n_shingles long, signature array<int>, shard string"
)


def _sketch_batches(
    batches: Iterator[pa.RecordBatch], num_perm: int, seed: int, shingle_size: int
) -> Iterator[pa.RecordBatch]:
    """Runs in the Python workers: (id, karma, seen, text, shard) batches in, signature rows out."""
    permutations = Permutations.make(num_perm, seed)
    for batch in batches:
        sketches = [sketch(text, permutations, shingle_size) for text in batch.column("text").to_pylist()]
        matrix = np.stack([item.signature for item in sketches]) if sketches else np.empty((0, num_perm), np.uint32)
        offsets = pa.array(np.arange(0, (len(sketches) + 1) * num_perm, num_perm, dtype=np.int32))
        yield pa.RecordBatch.from_pydict(
            {
                "id": batch.column("id"),
                "karma": batch.column("karma"),
                "seen": batch.column("seen"),
                "text_hash": pa.array([item.text_hash for item in sketches], pa.string()),
                "n_shingles": pa.array([item.n_shingles for item in sketches], pa.int64()),
                "signature": pa.ListArray.from_arrays(offsets, pa.array(matrix.view(np.int32).ravel())),
                "shard": batch.column("shard"),
            }
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
