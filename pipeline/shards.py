"""Shard IO: zstd Parquet written atomically, per-shard stats, skip-if-complete.

A shard is complete when its stats file exists and records the same fingerprint the
current run computes (inputs + config). A rewrite first removes the old stats file, then
renames the new Parquet file into place, then writes the new stats file, so a crash at
any point leaves either a complete shard or one a rerun rewrites: never a half-written
file under a final name, nor old stats describing new bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Self

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3
STATS_SUFFIX = ".stats.json"


def shard_name(index: int) -> str:
    """Deterministic shard file name, e.g. ``part-00042.parquet``."""
    if index < 0:
        raise ValueError(f"shard index must be >= 0, got {index}")
    return f"part-{index:05d}.parquet"


def stats_path(shard: Path) -> Path:
    """The stats file that marks ``shard`` complete (``part-00042.stats.json``)."""
    return shard.with_name(shard.name.removesuffix(".parquet") + STATS_SUFFIX)


def fingerprint(*parts: Any) -> str:
    """A short, stable hash of JSON-serialisable parts (config, input identities)."""
    canonical = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def temporary_path(path: Path) -> Path:
    """Where ``path`` is written before it is committed: hidden, per process (a killed run's are swept)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def commit(temporary: Path, final: Path, *, replace: bool = True) -> None:
    """fsync ``temporary`` and rename it to ``final`` so readers never see a partial file.

    With ``replace=False`` an existing ``final`` is never touched (archives are append-only):
    the file is hard-linked into place, which fails with FileExistsError if the name is taken.
    """
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    if replace:
        os.replace(temporary, final)
    else:
        os.link(temporary, final)
        temporary.unlink()
    _fsync_directory(final.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    temporary.write_bytes(data)
    commit(temporary, path)


def atomic_write_json(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented, key-sorted JSON, atomically."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json(path: Path) -> Any | None:
    """Parsed JSON at ``path``, or ``None`` if it is missing or unreadable (an incomplete write)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def read_stats(shard: Path) -> dict[str, Any] | None:
    """The stats recorded for ``shard``, or ``None`` if it was never completed."""
    stats = read_json(stats_path(shard))
    return stats if isinstance(stats, dict) else None


def completed_stats(shard: Path, expected_fingerprint: str) -> dict[str, Any] | None:
    """``shard``'s stats when a run with the same inputs and config completed it and it is intact, else None."""
    stats = read_stats(shard)
    if stats is None or stats.get("fingerprint") != expected_fingerprint:
        return None
    if not shard.exists() or shard.stat().st_size != stats.get("bytes"):
        return None
    return stats


def is_complete(shard: Path, expected_fingerprint: str) -> bool:
    """True when ``shard`` was completed by a run with the same inputs and config."""
    return completed_stats(shard, expected_fingerprint) is not None


def _finish(shard: Path, rows: int, shard_fingerprint: str, extra: dict[str, Any]) -> dict[str, Any]:
    stats = {
        "shard": shard.name,
        "rows": rows,
        "bytes": shard.stat().st_size,
        "sha256": file_sha256(shard),
        "fingerprint": shard_fingerprint,
        **extra,
    }
    atomic_write_json(stats_path(shard), stats)
    return stats


def write_shard(
    table: pa.Table, shard: Path, *, shard_fingerprint: str, extra_stats: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write ``table`` as one zstd Parquet shard atomically, then its stats; returns the stats."""
    with ShardWriter(shard, table.schema) as writer:
        writer.write(table)
        return writer.commit(shard_fingerprint, extra_stats)


class ShardWriter:
    """Streams record batches into one shard; nothing appears under the final name until ``commit``."""

    def __init__(self, shard: Path, schema: pa.Schema) -> None:
        self.shard = shard
        self.rows = 0
        shard.parent.mkdir(parents=True, exist_ok=True)
        self._temporary = temporary_path(shard)
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            self._temporary,
            schema,
            compression=PARQUET_COMPRESSION,
            compression_level=PARQUET_COMPRESSION_LEVEL,
        )

    def write(self, data: pa.Table | pa.RecordBatch) -> None:
        assert self._writer is not None, "write after commit"
        if data.num_rows:
            self._writer.write(data)
            self.rows += data.num_rows

    def commit(self, shard_fingerprint: str, extra_stats: dict[str, Any] | None = None) -> dict[str, Any]:
        """Close, fsync and rename the shard into place, then write its stats file."""
        assert self._writer is not None, "commit twice"
        self._writer.close()
        self._writer = None
        stats_path(self.shard).unlink(missing_ok=True)  # old stats must never describe the new bytes
        commit(self._temporary, self.shard)
        return _finish(self.shard, self.rows, shard_fingerprint, extra_stats or {})

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._temporary.unlink(missing_ok=True)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()


def complete_shards(directory: Path) -> list[Path]:
    """The completed Parquet shards in ``directory``, in name order."""
    return sorted(shard for shard in directory.glob("part-*.parquet") if read_stats(shard) is not None)


def docs_shards(docs_dir: Path, produced_by: str) -> list[Path]:
    """The completed shards of a stage's input directory, in name order; a clear error when it is not one."""
    if not docs_dir.is_dir():
        raise FileNotFoundError(f"documents directory {docs_dir} does not exist; run the {produced_by} stage first")
    shards = complete_shards(docs_dir)
    if not shards and any(docs_dir.glob("*.parquet")):
        raise ValueError(f"{docs_dir} has Parquet files but no completed shards (no .stats.json): not a stage output")
    return shards


class ShardReadError(ValueError):
    """A shard that exists but cannot be read: damaged on disk, not Parquet, or without the asked columns."""


def read_table(shard: Path, columns: list[str] | None = None, schema: pa.Schema | None = None) -> pa.Table:
    """``shard`` as a table; a damaged file raises ``ShardReadError`` naming it instead of Arrow's bare message."""
    try:
        return pq.read_table(shard, columns=columns, schema=schema)
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowException) as error:
        raise ShardReadError(
            f"{shard}: unreadable Parquet shard ({' '.join(str(error).split())}); if it is damaged, delete it "
            "(and its .stats.json) and rerun the stage that wrote it"
        ) from error


def remove_stale_temporaries(directory: Path) -> int:
    """Delete temporaries a killed run left behind; returns how many were removed."""
    removed = 0
    for leftover in directory.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def remove_orphan_shards(directory: Path, keep: set[str]) -> list[str]:
    """Delete completed or half-completed shards whose name is not in ``keep``; returns the removed names.

    The stats file goes first, so a crash in between leaves an incomplete shard, never a stale complete one.
    """
    removed = []
    for shard in sorted(directory.glob("part-*.parquet")):
        if shard.name not in keep:
            stats_path(shard).unlink(missing_ok=True)
            shard.unlink()
            removed.append(shard.name)
    return removed


class ShardOutcome:
    """Mixin for a stage's per-shard result dataclass: every field but ``name`` and ``skipped`` is its stats."""

    __slots__ = ()
    NOT_STATS = ("name", "skipped")

    def stats(self) -> dict[str, Any]:
        return {key: value for key, value in dataclasses.asdict(self).items() if key not in self.NOT_STATS}

    @classmethod
    def from_stats(cls, name: str, stats: dict[str, Any]) -> Self:
        """The result of a shard a previous run completed, read back from its stats file."""
        fields = {field.name for field in dataclasses.fields(cls)} - set(cls.NOT_STATS)
        return cls(name=name, skipped=True, **{key: stats[key] for key in fields})
