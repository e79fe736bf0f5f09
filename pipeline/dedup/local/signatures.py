"""Signatures in this process (or ``workers`` processes, one docs shard each): the file Spark's executors would
write for the same docs shard, byte for byte (same rows, sorted by id, same fixed row groups)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.dedup.signature_rows import ROW_GROUP_ROWS, SIGNATURE_SCHEMA, sketch_batches
from pipeline.fixed_row_groups import FixedRowGroupFile
from pipeline.records import Document, with_nullable_columns
from pipeline.shards import read_table
from pipeline.spark.adopt import WrittenShard
from pipeline.stage import run_units

BATCH_ROWS = 1024


def _documents(shard: Path) -> pa.Table:
    """The columns dedup needs, sorted by id; ``seen`` is first_seen, or fetched_at where it is unset or absent."""
    table = with_nullable_columns(read_table(shard), Document.SCHEMA, Document.__name__)  # first_seen may be absent
    seen = pc.coalesce(table["first_seen"], table["fetched_at"])
    table = pa.table(
        {
            "id": table["id"],
            "karma": table["karma"],
            "seen": seen.cast(pa.timestamp("us", tz="UTC")),
            "text": table["text"],
            "shard": pa.array([shard.name] * table.num_rows, pa.string()),
        }
    )
    return table.take(pc.sort_indices(table, [("id", "ascending")]))


def signature_shard(
    _shared: None, shard: Path, scratch: Path, num_perm: int, seed: int, shingle_size: int
) -> WrittenShard | None:
    """``shard``'s signatures written under ``scratch``; None for a shard without documents (Spark writes none)."""
    table = _documents(shard)
    if table.num_rows == 0:
        return None
    out = FixedRowGroupFile(shard.name, scratch / f"{shard.name}.local", SIGNATURE_SCHEMA, ROW_GROUP_ROWS)
    batches: Iterator[pa.RecordBatch] = iter(table.to_batches(max_chunksize=BATCH_ROWS))
    for batch in sketch_batches(batches, num_perm, seed, shingle_size):
        out.add(pa.Table.from_batches([batch.drop_columns(["shard"])]).cast(SIGNATURE_SCHEMA))
    statistics = out.close().to_pylist()[0]
    return WrittenShard(Path(statistics["path"]), statistics["rows"], statistics["bytes"], statistics["sha256"])


def compute_signatures(
    shards: list[Path], scratch: Path, num_perm: int, seed: int, shingle_size: int, workers: int
) -> dict[str, WrittenShard | None]:
    """Signature shards of ``shards`` under ``scratch``, as ``pipeline.dedup.spark.signatures`` returns them."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    jobs = [(shard, scratch, num_perm, seed, shingle_size) for shard in shards]
    written = run_units(signature_shard, jobs, workers, lambda _position: None)
    return {shard.name: result for shard, result in zip(shards, written, strict=True)}
