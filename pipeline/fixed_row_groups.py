"""A Parquet file cut into row groups of a fixed number of rows whatever batches it is given, so its bytes
depend only on its rows: what makes a shard written by a Spark executor task and one written in this
process the same file (``pipeline.spark.shard_files``, ``pipeline.dedup.local``)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.shards import PARQUET_COMPRESSION, PARQUET_COMPRESSION_LEVEL, file_sha256

WRITTEN_ARROW_SCHEMA = pa.schema(  # what a finished file reports, one row per shard
    [
        ("shard", pa.string()),
        ("path", pa.string()),
        ("rows", pa.int64()),
        ("bytes", pa.int64()),
        ("sha256", pa.string()),
    ]
)


class FixedRowGroupFile:
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
        """Finish the file; its statistics as one row of ``WRITTEN_ARROW_SCHEMA``."""
        if self._pending_rows:
            self._flush(self._pending_rows)
        self._writer.close()
        statistics = {"shard": self.name, "path": str(self.path), "rows": self.rows}
        statistics |= {"bytes": self.path.stat().st_size, "sha256": file_sha256(self.path)}
        return pa.RecordBatch.from_pylist([statistics], schema=WRITTEN_ARROW_SCHEMA)
