"""The harvest stage: Reddit submissions in, one shard set of ``UrlRecord`` out.

Layout under the output directory::

    part-00000.parquet ...   UrlRecord shards, one per URL-hash bucket
    part-00000.stats.json    per-shard stats; their presence marks a shard complete
    summary.json             counts by outcome over every source the folder holds
    _scan/<source>/          phase-1 spill per source, kept: a folder accumulates what it harvested

Harvesting into a folder that already holds a harvest adds the new sources' submissions
(karma summed with what is there); a source scanned before is not read again, whether or
not it is listed. The URL shards are rewritten from all scans (a new month can touch every
bucket); the fetch stage keys its work by URL, so that costs it nothing. The blocklists are
applied per bucket, so a changed list re-aggregates without re-scanning.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pipeline.harvest.aggregate import (
    BucketResult,
    aggregate_bucket,
    bucket_units,
    finished_bucket,
    remove_foreign_shards,
)
from pipeline.harvest.blocklists import Blocklists, load_blocklists, outcome
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.parallel import ChunkClassifier
from pipeline.harvest.reddit_api import RedditApiConfig
from pipeline.harvest.scan import ScanResult, SubmissionSource, earlier_scans, scan_source
from pipeline.harvest.sources import archive_api_pass, sources_of
from pipeline.lock import folder_lock
from pipeline.progress import ProgressFactory, no_progress
from pipeline.shards import remove_stale_temporaries
from pipeline.stage import StageSummary, Stopwatch, plan_units

SCAN_DIR = "_scan"


def _check_unique_names(sources: Sequence[SubmissionSource]) -> None:
    seen: dict[str, SubmissionSource] = {}
    for source in sources:
        if source.name in seen:
            raise ValueError(
                f"two inputs share the name {source.name!r} ({seen[source.name].identity()} and "
                f"{source.identity()}); rename one so their scans do not overwrite each other"
            )
        seen[source.name] = source


def _source_outcomes(scans: list[ScanResult], buckets: list[BucketResult]) -> list[dict]:
    """Each scan as the summary lists it: the lines its scan kept that a blocklist named move from ``kept`` to
    ``blocklisted:<list>``, so every line still has exactly one outcome."""
    listed: dict[str, Counter[str]] = {}
    for bucket in buckets:
        for source, per_list in bucket.blocklisted.items():
            listed.setdefault(source, Counter()).update({outcome(name): rows for name, rows in per_list.items()})
    sources = []
    for scan in scans:
        outcomes = Counter(scan.outcomes)
        hits = listed.get(scan.source, Counter())
        outcomes.update(hits)
        outcomes["kept"] -= sum(hits.values())
        sources.append({**scan.as_json(), "outcomes": dict(sorted((+outcomes).items()))})
    return sources


def _summarise(
    out_dir: Path,
    scans: list[ScanResult],
    buckets: list[BucketResult],
    cfg: HarvestConfig,
    blocklists: Blocklists,
    clock: Stopwatch,
) -> StageSummary:
    sources = _source_outcomes(scans, buckets)
    outcomes: Counter[str] = Counter()
    for source in sources:
        outcomes.update(source["outcomes"])
    return StageSummary(
        stage="harvest",
        out_dir=str(out_dir),
        outcomes=dict(outcomes),
        counts={
            "lines": sum(scan.lines for scan in scans),
            "duplicate_submissions": sum(bucket.duplicate_submissions for bucket in buckets),
            "urls_kept": sum(bucket.urls_kept for bucket in buckets),
            "urls_below_karma": sum(bucket.urls_below_karma for bucket in buckets),
            "karma_kept": sum(bucket.karma_kept for bucket in buckets),
        },
        units=len(buckets),
        units_skipped=sum(bucket.skipped for bucket in buckets),
        seconds=clock.seconds(),
        details={
            "shards": [bucket.shard.name for bucket in buckets],
            "sources": sources,
            "blocklists": [blocklist.as_json() for blocklist in blocklists.lists],
        },
        config=dataclasses.asdict(cfg),
    )


def harvest(
    dumps: Sequence[Path],
    out_dir: Path,
    cfg: HarvestConfig,
    reddit_api: RedditApiConfig | None = None,
    progress: ProgressFactory = no_progress,
) -> StageSummary:
    """Tonight's API pass (with ``reddit_api``), then the harvest of it with the dumps and every earlier pass, under
    one lock of ``out_dir``: no other run can write the folder between the two."""
    if reddit_api is None:  # nothing to archive first: bad input fails before the folder is made
        return run_harvest(sources_of(dumps, out_dir), out_dir, cfg, progress)
    blocklists = load_blocklists(cfg.blocklists)  # a bad list fails before the API is paged
    with folder_lock(out_dir, "harvest"):
        archive_api_pass(out_dir, reddit_api)
        sources = sources_of(dumps, out_dir)
        earlier = _earlier_scans(sources, out_dir, cfg)
        return _harvest_locked(sources, earlier, blocklists, out_dir, cfg, progress)


def run_harvest(
    sources: Sequence[SubmissionSource],
    out_dir: Path,
    cfg: HarvestConfig,
    progress: ProgressFactory = no_progress,
) -> StageSummary:
    """Add ``sources`` to the harvest in ``out_dir``; a rerun redoes only what changed or never finished."""
    earlier = _earlier_scans(sources, out_dir, cfg)  # bad input fails before the folder is made or locked
    blocklists = load_blocklists(cfg.blocklists)
    with folder_lock(out_dir, "harvest"):
        return _harvest_locked(sources, earlier, blocklists, out_dir, cfg, progress)


def _earlier_scans(sources: Sequence[SubmissionSource], out_dir: Path, cfg: HarvestConfig) -> list[ScanResult]:
    """The scans of earlier runs still valid for ``cfg``, once ``sources`` are checked: an error names the problem."""
    _check_unique_names(sources)
    earlier = earlier_scans(out_dir / SCAN_DIR, {source.name for source in sources}, cfg)
    if not sources and not earlier:
        raise ValueError(f"harvest needs a submission source (a dump file or the Reddit API); {out_dir} holds none yet")
    return earlier


def _harvest_locked(
    sources: Sequence[SubmissionSource],
    earlier: list[ScanResult],
    blocklists: Blocklists,
    out_dir: Path,
    cfg: HarvestConfig,
    progress: ProgressFactory,
) -> StageSummary:
    """The harvest itself; the caller holds the folder's lock."""
    clock = Stopwatch()
    remove_stale_temporaries(out_dir)
    with ChunkClassifier(cfg) as classifier:
        scans = [scan_source(source, out_dir / SCAN_DIR, cfg, classifier, progress) for source in sources]
    scans = sorted([*scans, *earlier], key=lambda scan: scan.source)
    plan = plan_units(bucket_units(scans, out_dir, cfg.min_karma, cfg.n_buckets, blocklists))
    buckets = [finished_bucket(unit, stats) for unit, stats in plan.done]
    buckets += [aggregate_bucket(scans, unit, cfg.min_karma, blocklists) for unit in plan.todo]
    buckets.sort(key=lambda bucket: bucket.shard.name)
    remove_foreign_shards(out_dir, cfg.n_buckets)
    return _summarise(out_dir, scans, buckets, cfg, blocklists, clock).write()
