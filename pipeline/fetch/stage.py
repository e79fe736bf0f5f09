"""The fetch stage: ``UrlRecord`` shards in, WARC files plus a pages index out.

Layout under the output directory::

    warc/part-RRRRR-BBBBB.warc.gz      every exchange of batch BBBBB of run RRRRR; never rewritten
    pages/part-RRRRR-BBBBB.parquet     one FetchRecord per URL of the batch; each URL once across shards
    summary.json                       counts by outcome over the whole index

The pages index is the stage's record of what it fetched (see ``index``): a run fetches the
harvested URLs the index does not hold, or holds but a policy makes due again, in new
batches of a new run number, so a URL folder that only grew is not new input and an
immediate rerun requests nothing. A URL already fetched whose harvested karma grew gets the
new karma in its pages row (``refresh_karma``), its page not requested again. Changing
``batch_size`` or the harvest's bucket count changes only how new URLs are grouped.

A batch is committed by renaming its WARC file into place (never over an existing one) and
then writing its pages shard. Killed at any moment, a rerun fetches what the index lacks; a
WARC file whose pages shard was never written stays in ``warc/`` unindexed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from pipeline.fetch.config import FetchConfig
from pipeline.fetch.http import HttpFetcher
from pipeline.fetch.index import (
    PagesIndex,
    drop_superseded,
    index_outcomes,
    pages_stats,
    refresh_karma,
    url_keys,
)
from pipeline.fetch.results import Fetcher, FetchResult
from pipeline.fetch.warc import WarcBatchWriter
from pipeline.lock import folder_lock
from pipeline.progress import ProgressFactory, no_progress
from pipeline.records import FetchRecord, to_table
from pipeline.shards import complete_shards, fingerprint, read_table, remove_stale_temporaries, write_shard
from pipeline.stage import StageSummary, Stopwatch

log = logging.getLogger(__name__)
PAGES_DIR, WARC_DIR = "pages", "warc"
BATCH_NAME = re.compile(r"^part-(\d+)-(\d+)\.")
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


def urls_to_fetch(urls_dir: Path, index: PagesIndex, stale_karma: dict[int, dict[int, int]]) -> Iterator[UrlToFetch]:
    """The harvested URLs the index does not hold (or holds but are due again), one URL shard in memory at a time.

    In the same pass, ``stale_karma`` gathers the rows of the URLs not fetched again whose harvested karma grew
    (``PagesIndex.stale_karma``), for ``refresh_karma`` once the run's batches are written."""
    shards = complete_shards(urls_dir)
    if not shards:
        raise FileNotFoundError(f"no complete URL shards (part-*.parquet with stats) in {urls_dir}")
    for shard in shards:
        table = read_table(shard, columns=list(UrlToFetch._fields))
        keys = url_keys(table["url"].to_pylist())
        settled = index.settled(keys)
        harvested = table["karma"].to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        for position, newest in index.stale_karma(keys[settled], harvested[settled]).items():
            stale_karma.setdefault(position, {}).update(newest)
        wanted = ~settled
        if wanted.any():
            table = table.filter(pa.array(wanted))
            columns = (table[name].to_pylist() for name in UrlToFetch._fields)
            yield from map(UrlToFetch._make, zip(*columns, strict=True))


def next_run_number(out_dir: Path) -> int:
    """One more than any run number in ``pages/`` or ``warc/`` (a WARC left unindexed by a kill counts too)."""
    names = [path.name for part in (PAGES_DIR, WARC_DIR) for path in (out_dir / part).glob("part-*")]
    numbers = [int(match.group(1)) for name in names if (match := BATCH_NAME.match(name))]
    return max(numbers, default=-1) + 1


def new_batches(urls: Iterator[UrlToFetch], run_number: int, batch_size: int) -> Iterator[UrlBatch]:
    """``urls`` in batches of ``batch_size``, named ``part-<run>-<batch>``."""
    batch: list[UrlToFetch] = []
    number = 0
    for url in urls:
        batch.append(url)
        if len(batch) == batch_size:
            yield UrlBatch(f"part-{run_number:05d}-{number:05d}", batch)
            batch, number = [], number + 1
    if batch:
        yield UrlBatch(f"part-{run_number:05d}-{number:05d}", batch)


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
        tdm_file_reservation=result.tdm_file_reservation,
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
    warc_name = f"{WARC_DIR}/{batch.name}.warc.gz"
    writer = WarcBatchWriter(out_dir / warc_name, cfg.warc_gzip_level)
    records: list[FetchRecord | None] = [None] * len(batch.urls)

    async def one(position: int, source: UrlToFetch) -> None:
        async with slots:
            result = await _fetch_one(fetcher, source.url)
        for exchange in result.site_file_exchanges:  # robots.txt, tdmrep.json answers: archived, in no pages row
            writer.write(exchange)
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
        self.batches = 0

    async def run(self, batches: Iterator[UrlBatch], advance: Callable[[int], None]) -> None:
        running: set[asyncio.Task[None]] = set()
        try:
            for batch in batches:
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

    async def _process(self, batch: UrlBatch, advance: Callable[[int], None]) -> None:
        records = await fetch_batch(batch, self.fetcher, self.out_dir, self.cfg, self.slots)
        table = to_table(records, FetchRecord)
        shard = self.out_dir / PAGES_DIR / f"{batch.name}.parquet"
        write_shard(table, shard, shard_fingerprint=fingerprint("fetch", batch.name), extra_stats=pages_stats(table))
        self.outcomes.update(record.outcome for record in records)
        self.batches += 1
        advance(sum(self.outcomes.values()))


async def _run(
    batches: Iterator[UrlBatch], out_dir: Path, cfg: FetchConfig, make: FetcherFactory, progress: ProgressFactory
) -> _FetchRun:
    fetcher = make(cfg)
    state = _FetchRun(out_dir, cfg, fetcher)
    try:
        with progress("fetch", None, "url") as advance:
            await state.run(batches, advance)
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
    """Fetch the harvested URLs the pages index lacks or that are due again; the index keeps one row per URL."""
    clock = Stopwatch()
    if not urls_dir.is_dir():
        raise FileNotFoundError(f"URL directory not found: {urls_dir}")
    with folder_lock(out_dir, "fetch"):
        pages_dir = out_dir / PAGES_DIR
        for part in (PAGES_DIR, WARC_DIR):
            (out_dir / part).mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(out_dir / part)
        now = datetime.now(UTC)
        index = PagesIndex.load(pages_dir, cfg, now)
        replaced = drop_superseded(index)  # rows a killed run left twice
        if replaced:
            index = PagesIndex.load(pages_dir, cfg, now)
        shards_before = len(index.shards)
        run_number = next_run_number(out_dir)
        stale_karma: dict[int, dict[int, int]] = {}
        batches = new_batches(urls_to_fetch(urls_dir, index, stale_karma), run_number, cfg.batch_size)
        run = asyncio.run(_run(batches, out_dir, cfg, make_fetcher, progress))
        karma_refreshed = refresh_karma(index, stale_karma)  # rows of URLs not fetched again: keys and shards hold
        if run.batches:  # the URLs fetched again now supersede their older rows
            replaced += drop_superseded(PagesIndex.load(pages_dir, cfg, now))
        outcomes, urls, fetched_bytes = index_outcomes(pages_dir)
        return StageSummary(
            stage="fetch",
            out_dir=str(out_dir),
            outcomes=dict(outcomes),
            counts={
                "urls": urls,
                "fetched": sum(run.outcomes.values()),
                "replaced": replaced,
                "karma_refreshed": karma_refreshed,
                "bytes": fetched_bytes,
            },
            units=shards_before + run.batches,
            units_skipped=shards_before,
            seconds=clock.seconds(),
            details={"run": run_number, "run_outcomes": dict(sorted(run.outcomes.items()))},
            config=cfg.describe(),
        ).write()
