"""The fetch stage: ``UrlRecord`` shards in, WARC files plus a pages index out.

Layout under the output directory::

    warc/part-SSSSS-BBBBB.warc.gz      every exchange of batch BBBBB of URL shard SSSSS
    pages/part-SSSSS-BBBBB.parquet     one FetchRecord per URL of the batch, success or not
    summary.json                       counts by outcome

A batch is committed by renaming its WARC file into place and then writing its pages
shard; the pages shard's stats mark it complete. Killed at any moment, a rerun skips
complete batches and refetches the one in flight from scratch, so no URL is lost and
none is recorded twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from pipeline.fetch.config import FetchConfig
from pipeline.fetch.http import HttpFetcher
from pipeline.fetch.results import Fetcher, FetchResult
from pipeline.fetch.warc import WarcBatchWriter
from pipeline.progress import ProgressFactory, no_progress
from pipeline.records import FetchRecord, to_table
from pipeline.shards import complete_shards, fingerprint, read_table, remove_stale_temporaries, write_shard
from pipeline.stage import StageSummary, Stopwatch, WorkUnit, input_sha256, plan_units

log = logging.getLogger(__name__)
PAGES_DIR = "pages"
FetcherFactory = Callable[[FetchConfig], Fetcher]


class UrlToFetch(NamedTuple):
    """The harvest fields a pages row carries over, so extract needs no join back to the URL shards."""

    url: str
    karma: int
    first_seen: datetime


@dataclasses.dataclass(slots=True)
class UrlBatch:
    name: str
    urls: list[UrlToFetch]


def batch_units(urls_dir: Path, out_dir: Path, cfg: FetchConfig) -> Iterator[list[WorkUnit[UrlBatch]]]:
    """Per URL shard, its deterministic batches: batch ``b`` of shard ``s`` is always the same URLs.

    A batch's fingerprint covers its URL shard's bytes, so a URL shard rewritten with
    different karma or first_seen makes its batches stale and they are fetched again.
    One URL shard is in memory at a time.
    """
    shards = complete_shards(urls_dir)
    if not shards:
        raise FileNotFoundError(f"no complete URL shards (part-*.parquet with stats) in {urls_dir}")
    for shard in shards:
        index = int(shard.stem.split("-")[1])
        table = read_table(shard, columns=list(UrlToFetch._fields))
        columns = (table[name].to_pylist() for name in UrlToFetch._fields)
        rows = list(map(UrlToFetch._make, zip(*columns, strict=True)))
        source = input_sha256(shard)
        units = []
        for batch, start in enumerate(range(0, len(rows), cfg.batch_size)):
            name = f"part-{index:05d}-{batch:05d}"
            output = out_dir / PAGES_DIR / f"{name}.parquet"
            key = fingerprint(source, batch, cfg.identity())
            units.append(WorkUnit(output, key, UrlBatch(name, rows[start : start + cfg.batch_size])))
        yield units


def _record(result: FetchResult, source: UrlToFetch, warc_file: str, offset: int | None) -> FetchRecord:
    # The last exchange is the final response when the URL ended in one (ok or an HTTP error status),
    # not when it ended in a redirect loop or a connection failure after some hops.
    archived = result.outcome == "ok" or (result.outcome.startswith("http_") and bool(result.exchanges))
    fetched_at = result.exchanges[-1].fetched_at if result.exchanges else datetime.now(UTC)
    return FetchRecord(
        url=result.url,
        final_url=result.final_url,
        status=result.status,
        content_type=result.content_type,
        charset=result.charset,
        bytes=result.bytes,
        warc_file=warc_file if archived else None,
        warc_offset=offset if archived else None,
        fetched_at=fetched_at,
        outcome=result.outcome,
        karma=source.karma,
        attempts=result.attempts,
        first_seen=source.first_seen,
    )


async def _fetch_one(fetcher: Fetcher, url: str) -> FetchResult:
    try:
        return await fetcher.fetch(url)
    except Exception:  # one URL's unexpected failure must not kill its batch: logged and counted
        log.exception("fetching %s failed unexpectedly", url)
        return FetchResult(url=url, outcome="internal_error")


async def fetch_batch(
    batch: UrlBatch, fetcher: Fetcher, out_dir: Path, cfg: FetchConfig, slots: asyncio.Semaphore
) -> list[FetchRecord]:
    """Fetch every URL of ``batch`` into its WARC file; ``slots`` bounds requests in flight across batches."""
    warc_name = f"warc/{batch.name}.warc.gz"
    writer = WarcBatchWriter(out_dir / warc_name, cfg.warc_gzip_level)
    records: list[FetchRecord | None] = [None] * len(batch.urls)

    async def one(position: int, source: UrlToFetch) -> None:
        async with slots:
            result = await _fetch_one(fetcher, source.url)
        offset = None
        for exchange in result.exchanges:  # redirect hops first; the last one is the final response
            offset = writer.write(exchange)
        records[position] = _record(result, source, warc_name, offset)

    try:
        await asyncio.gather(*(one(position, source) for position, source in enumerate(batch.urls)))
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    return [record for record in records if record is not None]


class _FetchRun:
    """All batches of one run, two at a time, so one batch's slow tail overlaps the next one's start."""

    BATCHES_IN_FLIGHT = 2

    def __init__(self, out_dir: Path, cfg: FetchConfig, fetcher: Fetcher) -> None:
        self.out_dir, self.cfg, self.fetcher = out_dir, cfg, fetcher
        self.slots = asyncio.Semaphore(cfg.concurrency)
        self.outcomes: Counter[str] = Counter()
        self.batches = self.skipped = self.bytes = 0

    async def run(self, shards: Iterator[list[WorkUnit[UrlBatch]]], advance: Callable[[int], None]) -> None:
        running: set[asyncio.Task[None]] = set()
        try:
            for units in shards:
                plan = plan_units(units)
                for _, stats in plan.done:
                    self._count(stats.get("outcomes", {}), stats.get("fetched_bytes", 0))
                self.batches += len(units)
                self.skipped += len(plan.done)
                for unit in plan.todo:
                    running.add(asyncio.create_task(self._process(unit, advance)))
                    if len(running) >= self.BATCHES_IN_FLIGHT:
                        done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                        for task in done:
                            task.result()
            for task in running:
                await task
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    def _count(self, outcomes: dict[str, int], fetched_bytes: int) -> None:
        self.outcomes.update(outcomes)
        self.bytes += fetched_bytes

    async def _process(self, unit: WorkUnit[UrlBatch], advance: Callable[[int], None]) -> None:
        records = await fetch_batch(unit.source, self.fetcher, self.out_dir, self.cfg, self.slots)
        counts = Counter(record.outcome for record in records)
        fetched = sum(record.bytes for record in records)
        write_shard(
            to_table(records, FetchRecord),
            unit.output,
            shard_fingerprint=unit.fingerprint,
            extra_stats={"outcomes": dict(sorted(counts.items())), "fetched_bytes": fetched},
        )
        self._count(counts, fetched)
        advance(sum(self.outcomes.values()))


async def _run(
    urls_dir: Path, out_dir: Path, cfg: FetchConfig, make: FetcherFactory, progress: ProgressFactory
) -> _FetchRun:
    fetcher = make(cfg)
    state = _FetchRun(out_dir, cfg, fetcher)
    try:
        with progress("fetch", None, "url") as advance:
            await state.run(batch_units(urls_dir, out_dir, cfg), advance)
    finally:
        await fetcher.close()
    return state


def run_fetch(
    urls_dir: Path,
    out_dir: Path,
    cfg: FetchConfig,
    make_fetcher: FetcherFactory = HttpFetcher,
    progress: ProgressFactory = no_progress,
) -> StageSummary:
    """Fetch every harvested URL not fetched yet; returns counts by outcome."""
    clock = Stopwatch()
    if not urls_dir.is_dir():
        raise FileNotFoundError(f"URL directory not found: {urls_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for part in (PAGES_DIR, "warc"):
        remove_stale_temporaries(out_dir / part)
    run = asyncio.run(_run(urls_dir, out_dir, cfg, make_fetcher, progress))
    return StageSummary(
        stage="fetch",
        out_dir=str(out_dir),
        outcomes=dict(run.outcomes),
        counts={"urls": sum(run.outcomes.values()), "bytes": run.bytes},
        units=run.batches,
        units_skipped=run.skipped,
        seconds=clock.seconds(),
        config=cfg.describe(),
    ).write()
