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
import pyarrow.parquet as pq
from pyspark import TaskContext

from pipeline.shards import PARQUET_COMPRESSION, PARQUET_COMPRESSION_LEVEL, file_sha256

WRITTEN_SCHEMA = "shard string, path string, rows long, bytes long, sha256 string"  # one row per shard
WRITTEN_ARROW_SCHEMA = pa.schema(
    [
        ("shard", pa.string()),
        ("path", pa.string()),
        ("rows", pa.int64()),
        ("bytes", pa.int64()),
        ("sha256", pa.string()),
    ]
)


class _ShardFile:
    """One shard streaming into its file: fixed-size row groups, then its statistics."""

    def __init__(self, name: str, path: Path, schema: pa.Schema, row_group_rows: int) -> None:
        self.name, self.path, self.rows, self.row_group_rows = name, path, 0, row_group_rows
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._writer = pq.ParquetWriter(
            path, schema, compression=PARQUET_COMPRESSION, compression_level=PARQUET_COMPRESSION_LEVEL
        )

    def add(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._pending_rows += table.num_rows
        while self._pending_rows >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def _flush(self, rows: int) -> None:
        table = pa.concat_tables(self._pending).combine_chunks()  # one chunk: pages never depend on batches
        self._writer.write_table(table.slice(0, rows), row_group_size=rows)
        rest = table.slice(rows)
        self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
        self.rows += rows

    def close(self) -> pa.RecordBatch:
        """Finish the file; its statistics as one row of ``WRITTEN_SCHEMA``."""
        if self._pending_rows:
            self._flush(self._pending_rows)
        self._writer.close()
        statistics = {"shard": self.name, "path": str(self.path), "rows": self.rows}
        statistics |= {"bytes": self.path.stat().st_size, "sha256": file_sha256(self.path)}
        return pa.RecordBatch.from_pylist([statistics], schema=WRITTEN_ARROW_SCHEMA)


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
    current: _ShardFile | None = None
    for batch in batches:
        for name, rows in _runs(batch):
            if current is None or current.name != name:
                if current is not None:
                    yield current.close()
                current = _ShardFile(name, Path(directory) / f"{name}.attempt-{attempt}", schema, row_group_rows)
            current.add(pa.Table.from_batches([rows.drop_columns(["shard"])]).cast(schema))
    if current is not None:
        yield current.close()
