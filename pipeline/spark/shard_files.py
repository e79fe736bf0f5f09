"""Executor tasks that write whole shards: one Parquet file per shard, the same bytes on every run.

A DataFrame partitioned by ``shard`` and sorted by (shard, key) within partitions is handed to
``write_shard_files`` through ``mapInArrow``: the task streams each shard's rows into one file
with the project's Parquet settings (``pipeline.shards``) and returns one small row per shard
(name, file, rows, bytes, sha256), which is all the driver collects. Spark's own Parquet writer
is not used because its footer lists each column's encodings in a hash-set order that changes
from one JVM to the next, so a rerun would not give the same bytes.

Rows are cut into row groups of a fixed number of rows whatever the Arrow batches were, so the
bytes depend only on the rows. Each task attempt writes its own file name; the driver moves
the files of the attempts Spark reports successful, and the rest go with the scratch folder.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
from pyspark import TaskContext

from pipeline.fixed_row_groups import FixedRowGroupFile

WRITTEN_SCHEMA = "shard string, path string, rows long, bytes long, sha256 string"  # one row per shard


def _runs(batch: pa.RecordBatch) -> Iterator[tuple[str, pa.RecordBatch]]:
    """(shard, rows) for each run of equal ``shard`` values in a batch sorted by shard."""
    names = batch.column("shard").to_pylist()
    start = 0
    for name, group in itertools.groupby(names):
        length = sum(1 for _ in group)
        yield name, batch.slice(start, length)
        start += length


def write_shard_files(
    batches: Iterator[pa.RecordBatch], directory: str, schema: pa.Schema, row_group_rows: int
) -> Iterator[pa.RecordBatch]:
    """Runs in the Python workers: rows sorted by shard in, one file per shard under ``directory`` out
    (``row_group_rows`` rows per row group, the last one smaller), one row of statistics per shard back."""
    attempt = TaskContext.get().taskAttemptId()  # unique per attempt: a retried task never shares a file
    current: FixedRowGroupFile | None = None
    for batch in batches:
        for name, rows in _runs(batch):
            if current is None or current.name != name:
                if current is not None:
                    yield current.close()
                current = FixedRowGroupFile(name, Path(directory) / f"{name}.attempt-{attempt}", schema, row_group_rows)
            current.add(pa.Table.from_batches([rows.drop_columns(["shard"])]).cast(schema))
    if current is not None:
        yield current.close()
