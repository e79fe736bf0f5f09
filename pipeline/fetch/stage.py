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
from typing import Any

import pyarrow.parquet as pq

from pipeline.fetch.config import FetchConfig
from pipeline.fetch.http import HttpFetcher
from pipeline.fetch.results import Fetcher, FetchResult
from pipeline.fetch.warc import WarcBatchWriter
from pipeline.progress import ProgressFactory, no_progress
from pipeline.records import FetchRecord, to_table
from pipeline.shards import atomic_write_json, complete_shards, fingerprint, is_complete, read_stats, write_shard

log = logging.getLogger(__name__)
SUMMARY_FILE = "summary.json"
FetcherFactory = Callable[[FetchConfig], Fetcher]


@dataclasses.dataclass(slots=True)
class UrlBatch:
    name: str
    fingerprint: str
    urls: list[tuple[str, int]]  # (url, karma)


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
    """Deterministic batches: batch ``b`` of shard ``s`` is always the same URLs."""
    shards = complete_shards(urls_dir)
    if not shards:
        raise FileNotFoundError(f"no complete URL shards (part-*.parquet with stats) in {urls_dir}")
    for shard in shards:
        index = int(shard.stem.split("-")[1])
        table = pq.read_table(shard, columns=["url", "karma"])
        rows = list(zip(table["url"].to_pylist(), table["karma"].to_pylist(), strict=True))
        source = (read_stats(shard) or {}).get("sha256")
        for batch, start in enumerate(range(0, len(rows), cfg.batch_size)):
            name = f"part-{index:05d}-{batch:05d}"
            yield UrlBatch(name, fingerprint(source, batch, cfg.identity()), rows[start : start + cfg.batch_size])


def _record(result: FetchResult, karma: int, warc_file: str, offset: int | None) -> FetchRecord:
    archived = result.outcome == "ok"
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
        karma=karma,
        attempts=result.attempts,
    )


async def _fetch_one(fetcher: Fetcher, url: str) -> FetchResult:
    try:
        return await fetcher.fetch(url)
    except Exception:  # one URL's unexpected failure must not kill its batch: logged and counted
        log.exception("fetching %s failed unexpectedly", url)
        return FetchResult(url=url, outcome="internal_error")


async def fetch_batch(batch: UrlBatch, fetcher: Fetcher, out_dir: Path, cfg: FetchConfig) -> list[FetchRecord]:
    """Fetch every URL of ``batch`` (at most ``cfg.concurrency`` at once) into its WARC file."""
    warc_name = f"warc/{batch.name}.warc.gz"
    writer = WarcBatchWriter(out_dir / warc_name, cfg.warc_gzip_level)
    records: list[FetchRecord | None] = [None] * len(batch.urls)
    slots = asyncio.Semaphore(cfg.concurrency)

    async def one(position: int, url: str, karma: int) -> None:
        async with slots:
            result = await _fetch_one(fetcher, url)
        offset = None
        for exchange in result.exchanges:  # redirect hops first; the last one is the final response
            offset = writer.write(exchange)
        records[position] = _record(result, karma, warc_name, offset)

    try:
        await asyncio.gather(*(one(position, url, karma) for position, (url, karma) in enumerate(batch.urls)))
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    return [record for record in records if record is not None]


async def _run(urls_dir: Path, out_dir: Path, cfg: FetchConfig, make: FetcherFactory, progress: ProgressFactory):
    outcomes: Counter[str] = Counter()
    batches = skipped = total_bytes = 0
    fetcher = make(cfg)
    try:
        with progress("fetch", None, "url") as advance:
            for batch in url_batches(urls_dir, cfg):
                batches += 1
                shard = out_dir / "pages" / f"{batch.name}.parquet"
                if is_complete(shard, batch.fingerprint):
                    skipped += 1
                    stats = read_stats(shard) or {}
                    outcomes.update(stats.get("outcomes", {}))
                    total_bytes += stats.get("fetched_bytes", 0)
                    continue
                records = await fetch_batch(batch, fetcher, out_dir, cfg)
                counts = Counter(record.outcome for record in records)
                fetched = sum(record.bytes for record in records)
                write_shard(
                    to_table(records, FetchRecord),
                    shard,
                    shard_fingerprint=batch.fingerprint,
                    extra_stats={"outcomes": dict(sorted(counts.items())), "fetched_bytes": fetched},
                )
                outcomes.update(counts)
                total_bytes += fetched
                advance(sum(outcomes.values()))
    finally:
        await fetcher.close()
    return outcomes, batches, skipped, total_bytes


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
    for leftover in out_dir.glob("*/.*.tmp"):
        leftover.unlink()
    outcomes, batches, skipped, total_bytes = asyncio.run(_run(urls_dir, out_dir, cfg, make_fetcher, progress))
    summary = FetchSummary(
        str(out_dir), sum(outcomes.values()), dict(sorted(outcomes.items())), batches, skipped, total_bytes
    )
    atomic_write_json(out_dir / SUMMARY_FILE, summary.as_json())
    return summary
