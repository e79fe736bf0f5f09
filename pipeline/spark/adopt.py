"""Taking a Parquet file that an executor task wrote as a finished shard, without reading it.

The executors write each signatures shard whole and report its statistics (rows, bytes,
sha256; ``pipeline.spark.shard_files``). The driver only renames the file into place (fsync, rename,
fsync of the folder) and writes the stats file that marks it complete, in the format every
stage's planner reads. The old stats file goes first, so a crash in between leaves a shard
the next run redoes, never old stats that describe new bytes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.shards import atomic_write_json, commit, stats_path, write_shard


@dataclasses.dataclass(frozen=True, slots=True)
class WrittenShard:
    """A shard file an executor task wrote (on the same filesystem as its destination), and its statistics."""

    path: Path
    rows: int
    bytes: int
    sha256: str


def adopt_shard(
    written: WrittenShard, shard: Path, *, shard_fingerprint: str, extra_stats: dict[str, Any]
) -> dict[str, Any]:
    """Move ``written`` to ``shard`` atomically, then write its stats; returns the stats."""
    size = written.path.stat().st_size
    if size != written.bytes:
        raise OSError(f"{written.path}: {size} bytes on disk, the task that wrote it reported {written.bytes}")
    stats_path(shard).unlink(missing_ok=True)
    commit(written.path, shard)
    stats = {
        "shard": shard.name,
        "rows": written.rows,
        "bytes": written.bytes,
        "sha256": written.sha256,
        "fingerprint": shard_fingerprint,
        **extra_stats,
    }
    atomic_write_json(stats_path(shard), stats)
    return stats


def adopt_or_write_empty(
    written: WrittenShard | None,
    shard: Path,
    schema: pa.Schema,
    *,
    shard_fingerprint: str,
    extra_stats: dict[str, Any],
) -> dict[str, Any]:
    """``adopt_shard``, or for an input without rows (no task saw it, so none wrote a file) a valid empty shard."""
    if written is None:
        return write_shard(schema.empty_table(), shard, shard_fingerprint=shard_fingerprint, extra_stats=extra_stats)
    return adopt_shard(written, shard, shard_fingerprint=shard_fingerprint, extra_stats=extra_stats)
