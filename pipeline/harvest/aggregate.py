"""Phase 2 of the harvest: per URL-hash bucket, sum karma over all submissions of a URL.

All submissions of one normalised URL land in the same bucket, so each bucket is
aggregated alone (memory: one bucket) into one output shard. A submission that appears
in two sources (an overlapping API increment, a re-downloaded month) counts once, with
its highest score. The blocklists apply here, before karma is summed, so a changed list
redoes the buckets and never the scans.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.harvest.blocklists import Blocklists, drop_blocklisted
from pipeline.harvest.scan import ScanResult, bucket_file
from pipeline.harvest.submissions import SPILL_SCHEMA
from pipeline.records import UTC_TIMESTAMP, UrlRecord
from pipeline.shards import fingerprint, read_table, remove_orphan_shards, shard_name, write_shard
from pipeline.stage import WorkUnit


@dataclasses.dataclass(slots=True)
class BucketResult:
    """Counts for one output shard."""

    shard: Path
    urls_kept: int
    skipped: bool
    urls_below_karma: int
    duplicate_submissions: int
    karma_kept: int
    blocklisted: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)  # source -> list -> rows


def _read_bucket(scans: Sequence[ScanResult], bucket: int) -> tuple[pa.Table, list[tuple[str, int]]]:
    """The bucket's spill from every scan, and which source each run of its rows came from."""
    files = [(scan.source, bucket_file(scan.directory, bucket)) for scan in scans]
    tables = [(source, read_table(path)) for source, path in files if path.exists()]
    spill = pa.concat_tables([table for _, table in tables]) if tables else SPILL_SCHEMA.empty_table()
    return spill, [(source, table.num_rows) for source, table in tables]


def _unique_submissions(spill: pa.Table) -> pa.Table:
    keys = ["id", "url", "domain", "subreddit", "created_utc"]
    unique = spill.group_by(keys, use_threads=False).aggregate([("score", "max")])
    return unique.rename_columns([*keys, "score"])


def _per_url(submissions: pa.Table) -> pa.Table:
    """One row per URL; list columns in chronological order (input sorted, single-threaded)."""
    ordered = submissions.sort_by([("url", "ascending"), ("created_utc", "ascending"), ("id", "ascending")])
    grouped = ordered.group_by("url", use_threads=False).aggregate(
        [
            ("domain", "min"),
            ("score", "sum"),
            ("id", "count"),
            ("created_utc", "min"),
            ("subreddit", "distinct"),
            ("id", "list"),
        ]
    )
    first_seen = pc.multiply(grouped["created_utc_min"], 1_000_000).cast(pa.int64()).cast(UTC_TIMESTAMP)
    table = pa.table(
        {
            "url": grouped["url"],
            "domain": grouped["domain_min"],
            "karma": grouped["score_sum"],
            "n_submissions": grouped["id_count"],
            "first_seen": first_seen,
            "subreddits": grouped["subreddit_distinct"],
            "submission_ids": grouped["id_list"],
        }
    )
    return table.cast(UrlRecord.SCHEMA)


def bucket_units(
    scans: Sequence[ScanResult], out_dir: Path, min_karma: int, n_buckets: int, blocklists: Blocklists
) -> list[WorkUnit[int]]:
    """One unit per URL-hash bucket, keyed by the scans it reads, the karma threshold and the blocklists' entries
    (left out when there are none, so a harvest without lists keeps the keys it had before lists existed)."""
    scan_fingerprints = [scan.fingerprint for scan in scans]
    listed = [blocklists.identity()] if blocklists else []
    return [
        WorkUnit(
            out_dir / shard_name(bucket), fingerprint(scan_fingerprints, min_karma, n_buckets, bucket, *listed), bucket
        )
        for bucket in range(n_buckets)
    ]


def finished_bucket(unit: WorkUnit[int], stats: dict[str, Any]) -> BucketResult:
    """The result of a bucket an earlier run completed, read back from its stats."""
    counts = {name: stats[name] for name in ("urls_below_karma", "duplicate_submissions", "karma_kept")}
    return BucketResult(unit.output, stats["rows"], skipped=True, blocklisted=stats.get("blocklisted", {}), **counts)


def aggregate_bucket(
    scans: Sequence[ScanResult], unit: WorkUnit[int], min_karma: int, blocklists: Blocklists
) -> BucketResult:
    """Write the unit's shard with the URLs of its bucket no blocklist names whose karma reaches ``min_karma``."""
    spill, sources = _read_bucket(scans, unit.source)
    spill, blocklisted = drop_blocklisted(spill, sources, blocklists)
    submissions = _unique_submissions(spill)
    urls = _per_url(submissions)
    kept = urls.filter(pc.greater_equal(urls["karma"], min_karma)).sort_by("url")
    counts = {
        "urls_below_karma": urls.num_rows - kept.num_rows,
        "duplicate_submissions": spill.num_rows - submissions.num_rows,
        "karma_kept": int(pc.sum(kept["karma"]).as_py() or 0),
    }
    write_shard(
        kept, unit.output, shard_fingerprint=unit.fingerprint, extra_stats={**counts, "blocklisted": blocklisted}
    )
    return BucketResult(unit.output, kept.num_rows, skipped=False, blocklisted=blocklisted, **counts)


def remove_foreign_shards(out_dir: Path, n_buckets: int) -> list[str]:
    """Delete shards left by an earlier run with more buckets, so readers see only this run's."""
    return remove_orphan_shards(out_dir, {shard_name(bucket) for bucket in range(n_buckets)})
