"""Dropped records are kept, not lost: ``<root>/rejected/<stage>/<reason>/<shard>``, written atomically.

Every stage or filter that drops records writes them here, one shard per input shard and
reason, so each count in a summary can be audited (and its records re-examined) without
rerunning anything. A rerun that no longer drops a shard's records for some reason removes
that reason's old shard, so the directory always matches the latest run.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Generic

from pipeline.records import Record, to_table
from pipeline.shards import (
    complete_shards,
    read_stats,
    remove_orphan_shards,
    remove_stale_temporaries,
    stats_path,
    write_shard,
)

REJECTED_DIR = "rejected"
REASON = re.compile(r"^[a-z][a-z0-9_]*$")


def stage_rejects_dir(root: Path, stage: str) -> Path:
    """``<root>/rejected/<stage>``: one sub-directory per reason."""
    return root / REJECTED_DIR / stage


class RejectWriter(Generic[Record]):
    """Collects the records one shard drops, grouped by reason; ``commit`` writes one shard per reason.

    Rows are kept in memory until ``commit``: rejects are a fraction of one input shard.
    """

    def __init__(
        self,
        root: Path,
        stage: str,
        shard_name: str,
        record_type: type[Record],
        reason_types: dict[str, type] | None = None,
    ) -> None:
        self._directory = stage_rejects_dir(root, stage)
        self._shard_name = shard_name
        self._record_type = record_type
        self._reason_types = reason_types or {}  # reasons whose rows are another record type
        self._rows: defaultdict[str, list[Record]] = defaultdict(list)

    def add(self, reason: str, record: Record) -> None:
        if not REASON.match(reason):
            raise ValueError(f"reject reasons are snake_case names, got {reason!r}")
        self._rows[reason].append(record)

    @property
    def counts(self) -> dict[str, int]:
        return {reason: len(rows) for reason, rows in sorted(self._rows.items())}

    def commit(self, shard_fingerprint: str) -> dict[str, int]:
        """Write each reason's shard, drop this shard's rejects under reasons it no longer has; returns counts."""
        for reason, rows in sorted(self._rows.items()):
            table = to_table(rows, self._reason_types.get(reason, self._record_type))
            write_shard(table, self._directory / reason / self._shard_name, shard_fingerprint=shard_fingerprint)
        remove_rejects(self._directory, self._shard_name, keep=frozenset(self._rows))
        return self.counts


def remove_rejects(stage_dir: Path, shard_name: str, keep: frozenset[str] = frozenset()) -> None:
    """Delete ``shard_name``'s rejects under every reason of ``stage_dir`` except those in ``keep``."""
    for reason_dir in sorted(stage_dir.glob("*")):
        if reason_dir.is_dir() and reason_dir.name not in keep:
            shard = reason_dir / shard_name
            stats_path(shard).unlink(missing_ok=True)  # the marker first: a crash leaves an incomplete shard
            shard.unlink(missing_ok=True)


def remove_stale_reject_temporaries(stage_dir: Path) -> int:
    """Delete temporaries a killed run left under ``stage_dir``'s reasons; returns how many."""
    return sum(remove_stale_temporaries(reason_dir) for reason_dir in stage_dir.glob("*") if reason_dir.is_dir())


def reject_counts(stage_dir: Path) -> dict[str, int]:
    """Rows rejected per reason, summed over the completed reject shards under ``stage_dir``."""
    counts: dict[str, int] = {}
    for reason_dir in sorted(stage_dir.glob("*")):
        rows = [(read_stats(shard) or {}).get("rows", 0) for shard in sorted(reason_dir.glob("part-*.parquet"))]
        if any(rows):
            counts[reason_dir.name] = sum(rows)
    return counts


class OrphanShardsError(ValueError):
    """The output folder holds finished shards of inputs the run does not have: ``--out`` may be the wrong folder."""


def remove_leftovers(out_dir: Path, stage: str, input_names: set[str], replace: bool = False) -> None:
    """Temporaries of a killed run, and (with ``replace``) output shards whose input shard is gone.

    Finished shards of another input are never deleted silently: without ``replace`` the run
    stops with an error naming them, since the likely cause is an ``--out`` that now points at
    a folder made from other input. Call it under the folder's lock.
    """
    remove_stale_temporaries(out_dir)
    rejects_dir = stage_rejects_dir(out_dir, stage)
    remove_stale_reject_temporaries(rejects_dir)
    orphans = [shard.name for shard in complete_shards(out_dir) if shard.name not in input_names]
    if orphans and not replace:
        shown = ", ".join(orphans[:3]) + (f" and {len(orphans) - 3} more" if len(orphans) > 3 else "")
        raise OrphanShardsError(
            f"{out_dir} holds {len(orphans)} finished {stage} shard(s) whose input shard is gone ({shown}): is "
            "--out the right folder? Use a new --out, or rerun with --replace to delete them"
        )
    for shard_name in remove_orphan_shards(out_dir, input_names):
        remove_rejects(rejects_dir, shard_name)
