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
from typing import Any, NamedTuple

from pipeline.fetch.config import FetchConfig
from pipeline.fetch.http import HttpFetcher
from pipeline.fetch.results import Fetcher, FetchResult
from pipeline.fetch.warc import WarcBatchWriter
from pipeline.progress import ProgressFactory, no_progress
from pipeline.records import FetchRecord, to_table
from pipeline.shards import (
    atomic_write_json,
    complete_shards,
    fingerprint,
    is_complete,
    read_stats,
    read_table,
    remove_stale_temporaries,
    write_shard,
)

log = logging.getLogger(__name__)
SUMMARY_FILE = "summary.json"
FetcherFactory = Callable[[FetchConfig], Fetcher]


class UrlToFetch(NamedTuple):
    """The harvest fields a pages row carries over, so extract needs no join back to the URL shards."""

    url: str
    karma: int
    first_seen: datetime


@dataclasses.dataclass(slots=True)
class UrlBatch:
    name: str
    fingerprint: str
    urls: list[UrlToFetch]


@dataclasses.dataclass(slots=True)
class FetchSummary:
    out_dir: str
    urls: int
    outcomes: dict[str, int]
    batches: int
    batches_skipped: int
    bytes: int

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def url_batches(urls_dir: Path, cfg: FetchConfig) -> Iterator[UrlBatch]:
    """Deterministic batches: batch ``b`` of shard ``s`` is always the same URLs.

    A batch's fingerprint covers its URL shard's bytes, so a URL shard rewritten with
    different karma or first_seen makes its batches stale and they are fetched again.
    """
    shards = complete_shards(urls_dir)
    if not shards:
        raise FileNotFoundError(f"no complete URL shards (part-*.parquet with stats) in {urls_dir}")
    for shard in shards:
        index = int(shard.stem.split("-")[1])
        table = read_table(shard, columns=list(UrlToFetch._fields))
        columns = (table[name].to_pylist() for name in UrlToFetch._fields)
        rows = list(map(UrlToFetch._make, zip(*columns, strict=True)))
        source = (read_stats(shard) or {}).get("sha256")
        for batch, start in enumerate(range(0, len(rows), cfg.batch_size)):
            name = f"part-{index:05d}-{batch:05d}"
            yield UrlBatch(name, fingerprint(source, batch, cfg.identity()), rows[start : start + cfg.batch_size])


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

    async def run(self, batches: Iterator[UrlBatch], advance: Callable[[int], None]) -> None:
        running: set[asyncio.Task[None]] = set()
        try:
            for batch in batches:
                self.batches += 1
                if self._already_done(batch):
                    continue
                running.add(asyncio.create_task(self._process(batch, advance)))
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

    def _shard(self, batch: UrlBatch) -> Path:
        return self.out_dir / "pages" / f"{batch.name}.parquet"

    def _already_done(self, batch: UrlBatch) -> bool:
        if not is_complete(self._shard(batch), batch.fingerprint):
            return False
        stats = read_stats(self._shard(batch)) or {}
        self.skipped += 1
        self.outcomes.update(stats.get("outcomes", {}))
        self.bytes += stats.get("fetched_bytes", 0)
        return True

    async def _process(self, batch: UrlBatch, advance: Callable[[int], None]) -> None:
        records = await fetch_batch(batch, self.fetcher, self.out_dir, self.cfg, self.slots)
        counts = Counter(record.outcome for record in records)
        fetched = sum(record.bytes for record in records)
        write_shard(
            to_table(records, FetchRecord),
            self._shard(batch),
            shard_fingerprint=batch.fingerprint,
            extra_stats={"outcomes": dict(sorted(counts.items())), "fetched_bytes": fetched},
        )
        self.outcomes.update(counts)
        self.bytes += fetched
        advance(sum(self.outcomes.values()))


async def _run(urls_dir: Path, out_dir: Path, cfg: FetchConfig, make: FetcherFactory, progress: ProgressFactory):
    fetcher = make(cfg)
    state = _FetchRun(out_dir, cfg, fetcher)
    try:
        with progress("fetch", None, "url") as advance:
            await state.run(url_batches(urls_dir, cfg), advance)
    finally:
        await fetcher.close()
    return state.outcomes, state.batches, state.skipped, state.bytes


def run_fetch(
    urls_dir: Path,
    out_dir: Path,
    cfg: FetchConfig,
    make_fetcher: FetcherFactory = HttpFetcher,
    progress: ProgressFactory = no_progress,
) -> FetchSummary:
    """Fetch every harvested URL not fetched yet; returns counts by outcome."""
    if not urls_dir.is_dir():
        raise FileNotFoundError(f"URL directory not found: {urls_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for part in ("pages", "warc"):
        remove_stale_temporaries(out_dir / part)
    outcomes, batches, skipped, total_bytes = asyncio.run(_run(urls_dir, out_dir, cfg, make_fetcher, progress))
    summary = FetchSummary(
        str(out_dir), sum(outcomes.values()), dict(sorted(outcomes.items())), batches, skipped, total_bytes
    )
    atomic_write_json(out_dir / SUMMARY_FILE, summary.as_json())
    return summary
