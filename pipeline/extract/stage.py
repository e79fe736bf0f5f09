"""The extract stage: the fetch stage's pages in, one shard of ``Document`` per pages shard out.

Layout under the output directory::

    part-00000-00003.parquet ...            Document shards, named after the pages shards they come from
    part-00000-00003.stats.json             per-shard counts; their presence marks a shard complete
    rejected/extract/<reason>/part-...      the FetchRecord rows of pages dropped for <reason>
    summary.json                            counts for the whole run

Pages shards are extracted in parallel, one shard per worker process at a time, each page
under a time limit (see ``supervisor``); documents keep the order of their pages shard,
so a rerun after a kill at any moment writes the same bytes. A shard is redone only when
its pages (karma aside: ``pages_content_sha256``), the extraction settings (the backend
among them) or the stage's code (``pipeline/extract``) changed. When only the pages' karma
changed (fetch carries a URL's newest karma into its row), the finished Document shard takes
it without a page being extracted again (``refresh_karma``): the same bytes a fresh
extraction would write. A flow maps ``open_extract``'s jobs instead: one pages shard
each, on a supervisor of its own.

What goes wrong with one page is that page's outcome, the run goes on: a hang (``timeout``),
a crash (``extractor_error``), and a response that cannot be read back from the archive
(``warc_error``: a missing WARC file, a corrupt or truncated record, an offset that points at
anything but that page's response; see ``archive``). A pages index row that says ``ok`` but
has no WARC location is a damaged fetch output, and an error naming the shard.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.code_identity import code_fingerprint
from pipeline.extract.config import ExtractConfig
from pipeline.extract.html_text import EXTRACTOR_ERROR, TIMEOUT, WARC_ERROR, ExtractedPage, resolve_extractor
from pipeline.extract.pages import PageHandler, PageTask, read_sizes
from pipeline.extract.supervisor import Job, JobDone, Supervisor
from pipeline.lock import folder_lock
from pipeline.progress import ProgressFactory, no_progress
from pipeline.records import (
    PAGES_CONTENT_SHA256,
    Document,
    FetchRecord,
    document_id,
    from_table,
    pages_content_sha256,
    to_table,
)
from pipeline.rejects import RejectWriter, remove_leftovers
from pipeline.settings import resolve_workers
from pipeline.shards import (
    ShardOutcome,
    ShardWriter,
    atomic_write_json,
    complete_shards,
    fingerprint,
    read_stats,
    read_table,
    stats_path,
)
from pipeline.stage import ShardedRun, StageSummary, Stopwatch, WorkUnit, input_sha256, plan_units
from pipeline.urls import domain_of

STAGE = "extract"
PACKAGE = "pipeline.extract"  # the code the outputs depend on (see ``code_fingerprint``)
PAGES_DIR = "pages"
BATCH_ROWS = 1024  # documents per Parquet write: bounds memory, and fixed so the bytes are too

logger = logging.getLogger(__name__)


@dataclasses.dataclass(slots=True)
class ShardResult(ShardOutcome):
    """Counts for one output shard (also its stats file's extra fields)."""

    name: str
    pages: int
    not_fetched: int
    documents: int
    outcomes: dict[str, int]  # rejected pages by reason
    charset_detected: int
    truncated: int
    pages_sha256: str | None  # the pages shard whose karma the documents carry
    skipped: bool = False


def pages_shards(fetch_dir: Path) -> list[Path]:
    """The completed pages shards of a fetch output directory, in name order."""
    if not fetch_dir.is_dir():
        raise FileNotFoundError(f"fetch output directory {fetch_dir} does not exist; run the fetch stage first")
    pages = fetch_dir / PAGES_DIR
    if not pages.is_dir():
        raise FileNotFoundError(f"{fetch_dir} has no {PAGES_DIR}/ directory: it is not a fetch output directory")
    return complete_shards(pages)


def make_document(row: FetchRecord, page: ExtractedPage) -> Document:
    return Document(
        id=document_id(row.url),
        url=row.url,
        domain=domain_of(row.url),
        title=page.title,
        text=page.text,
        karma=row.karma,
        fetched_at=row.fetched_at,
        final_url=row.final_url,
        published=page.published,
        warc_file=row.warc_file,
        warc_offset=row.warc_offset,
        first_seen=row.first_seen,
    )


class ShardExtraction:
    """One pages shard becoming a Document shard: results arrive in row order and stream to disk."""

    def __init__(self, pages_shard: Path, fetch_dir: Path, out_dir: Path, shard_fingerprint: str) -> None:
        self.name = pages_shard.name
        self._pages_sha256 = input_sha256(pages_shard)
        self.rows = list(from_table(read_table(pages_shard), FetchRecord))
        self._fetch_dir = fetch_dir
        self._fingerprint = shard_fingerprint
        self._writer = ShardWriter(out_dir / self.name, Document.SCHEMA)
        self._rejects = RejectWriter(out_dir, STAGE, self.name, FetchRecord)
        self._batch: list[Document] = []
        self._flags: Counter[str] = Counter()

    def tasks(self) -> list[PageTask]:
        """The pages with an archived response; the other rows failed in fetch and are only counted."""
        ok = [(position, row) for position, row in enumerate(self.rows) if row.outcome == "ok"]
        warc_paths: dict[str, str] = {}  # a shard's pages are in a few WARC files: one path join each
        locations = [self._location(position, row, warc_paths) for position, row in ok]
        return [
            PageTask(
                position,
                path,
                offset,
                row.content_type,
                row.charset,
                row.final_url or row.url,
                size,
                row.tdm_file_reservation,
            )
            for (position, row), (path, offset), size in zip(ok, locations, read_sizes(locations), strict=True)
        ]

    def _location(self, position: int, row: FetchRecord, warc_paths: dict[str, str]) -> tuple[str, int]:
        if row.warc_file is None or row.warc_offset is None:
            raise ValueError(f"{self.name} row {position} ({row.url}) is ok but has no WARC location")
        if row.warc_file not in warc_paths:
            warc_paths[row.warc_file] = str(self._fetch_dir / row.warc_file)
        return warc_paths[row.warc_file], row.warc_offset

    def add(self, position: int, result: ExtractedPage | str) -> None:
        row = self.rows[position]
        if isinstance(result, str):
            self._rejects.add(result, row)
            return
        self._flags["charset_detected"] += result.charset_detected
        self._flags["truncated"] += result.truncated
        self._batch.append(make_document(row, result))
        if len(self._batch) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        self._writer.write(to_table(self._batch, Document))
        self._batch = []

    def finish(self) -> ShardResult:
        """Commit the rejects, then the documents: the shard's stats file, written last, marks it complete."""
        self._flush()
        outcomes = self._rejects.commit(self._fingerprint)
        ok_pages = sum(row.outcome == "ok" for row in self.rows)
        result = ShardResult(
            name=self.name,
            pages=len(self.rows),
            not_fetched=len(self.rows) - ok_pages,
            documents=self._writer.rows,
            outcomes=outcomes,
            charset_detected=self._flags["charset_detected"],
            truncated=self._flags["truncated"],
            pages_sha256=self._pages_sha256,
        )
        assert result.documents + sum(outcomes.values()) == ok_pages, f"{self.name}: a page went uncounted"
        if outcomes.get(WARC_ERROR):
            logger.warning("%s: %d pages could not be read back from their WARC files", self.name, outcomes[WARC_ERROR])
        self._writer.commit(self._fingerprint, result.stats())
        return result

    def abort(self) -> None:
        self._writer.abort()


@dataclasses.dataclass(frozen=True, slots=True)
class Destination:
    """What every job of a run shares: where its pages' WARC files are, where it writes, and how it extracts."""

    fetch_dir: Path
    out_dir: Path
    cfg: ExtractConfig


def _supervisor(cfg: ExtractConfig, shards: int) -> Supervisor:
    """The supervisor of a run of ``shards`` pages shards: ``cfg.workers`` processes at most, one per shard."""
    handler = PageHandler(cfg.page_rules())
    workers = min(resolve_workers(cfg.workers), max(shards, 1))
    return Supervisor(handler, workers, cfg.page_timeout_s, timeout_result=TIMEOUT, crash_result=EXTRACTOR_ERROR)


def _extract_shards(
    todo: list[WorkUnit[Path]],
    destination: Destination,
    advance: Callable[[int], None],
    supervisor: Supervisor | None = None,
) -> Iterator[ShardResult]:
    """Run the shards that need it on the supervised workers (``supervisor``'s, its workers maybe started already,
    else a new one's); yields each shard's result as it completes."""
    running: dict[str, ShardExtraction] = {}
    done = 0

    def jobs() -> Iterable[Job]:
        for unit in todo:
            extraction = ShardExtraction(unit.source, destination.fetch_dir, destination.out_dir, unit.fingerprint)
            running[extraction.name] = extraction
            yield Job(extraction.name, extraction.tasks())

    supervisor = supervisor or _supervisor(destination.cfg, len(todo))
    try:
        for event in supervisor.run(jobs()):
            if isinstance(event, JobDone):
                result = running.pop(event.key).finish()
                done += result.not_fetched
                yield result
            else:
                running[event.key].add(event.task.position, event.result)
                done += 1
            advance(done)
    finally:
        supervisor.close()
        for extraction in running.values():
            extraction.abort()


def _units(inputs: list[Path], out_dir: Path, cfg: ExtractConfig) -> list[WorkUnit[Path]]:
    """One unit per pages shard, keyed by that shard's pages (karma aside), the extraction settings and the stage's
    code."""
    identity = cfg.identity()
    code = code_fingerprint(PACKAGE)
    return [
        WorkUnit(out_dir / shard.name, fingerprint(STAGE, pages_content_key(shard), identity, code), shard)
        for shard in inputs
    ]


def pages_content_key(pages_shard: Path) -> str:
    """The hash of a pages shard's rows, karma aside, as fetch recorded it (computed for a shard it did not)."""
    recorded = (read_stats(pages_shard) or {}).get(PAGES_CONTENT_SHA256)
    return recorded or pages_content_sha256(read_table(pages_shard))


def refresh_karma(unit: WorkUnit[Path], stats: dict[str, Any]) -> tuple[ShardResult, int]:
    """A finished Document shard whose pages shard changed in karma alone: its documents take the pages rows'
    karma, nothing extracted again. Returns the shard's result and how many of its documents' karma changed.

    Written in the same row groups as ``ShardExtraction``, so the bytes equal a fresh extraction's; a kill
    mid-write leaves the shard incomplete (stats removed first), and the rerun extracts it afresh.
    """
    result = ShardResult.from_stats(unit.name, stats)
    pages_sha256 = input_sha256(unit.source)
    if result.pages_sha256 == pages_sha256:
        return result, 0
    pages = read_table(unit.source, columns=["url", "karma"])
    newest = dict(zip(pages["url"].to_pylist(), pages["karma"].to_pylist(), strict=True))
    documents = read_table(unit.output)
    karma = documents["karma"].to_pylist()
    refreshed = [newest.get(url, old) for url, old in zip(documents["url"].to_pylist(), karma, strict=True)]
    changed = sum(old != new for old, new in zip(karma, refreshed, strict=True))
    result.pages_sha256 = pages_sha256
    if not changed:  # the karma of pages extract rejected: the documents stand as they are
        atomic_write_json(stats_path(unit.output), {**stats, "pages_sha256": pages_sha256})
        return result, 0
    column = documents.schema.get_field_index("karma")
    documents = documents.set_column(column, Document.SCHEMA.field("karma"), pa.array(refreshed, type=pa.int64()))
    with ShardWriter(unit.output, Document.SCHEMA) as writer:
        for start in range(0, documents.num_rows, BATCH_ROWS):
            writer.write(documents.slice(start, BATCH_ROWS))
        writer.commit(unit.fingerprint, result.stats())
    return result, changed


def extract_shard(destination: Destination, pages_shard: Path, shard_fingerprint: str) -> ShardResult:
    """One pages shard into its Document shard, on a supervisor of its own: one worker process (a mapped job's
    parallelism is the task runner's), each page under the run's time limit. The same bytes as the local run."""
    unit = WorkUnit(destination.out_dir / pages_shard.name, shard_fingerprint, pages_shard)
    (result,) = _extract_shards([unit], destination, lambda position: None)  # one unit: one worker
    return result


def _extract_all(
    todo: list[WorkUnit[Path]], destination: Destination, supervisor: Supervisor, advance: Callable[[int], None]
) -> list[ShardResult]:
    """The local run: every shard on one supervisor, ``cfg.workers`` processes; results in job order."""
    done = {result.name: result for result in _extract_shards(todo, destination, advance, supervisor)}
    return [done[unit.name] for unit in todo]


def _summarise(
    fetch_dir: Path,
    out_dir: Path,
    done: list[ShardResult],
    karma_refreshed: int,
    cfg: ExtractConfig,
    clock: Stopwatch,
    results: list[ShardResult],
) -> StageSummary:
    # not_fetched: rows whose fetch failed (counted by fetch, nothing archived); charset_detected: documents whose
    # stored charset failed and detection decoded them; karma_refreshed: documents this run gave a newer karma
    summed = ("pages", "not_fetched", "documents", "charset_detected", "truncated")
    details = {"fetch_dir": str(fetch_dir), "code_fingerprint": code_fingerprint(PACKAGE)}
    config = dataclasses.asdict(cfg)
    summary = StageSummary.of_shards(STAGE, out_dir, done + results, summed, clock, config, **details)
    summary.counts["karma_refreshed"] = karma_refreshed
    return summary.write()


def pages_to_extract(run: ShardedRun[ShardResult]) -> int:
    """The rows of the pages shards an extract run's jobs read: its progress total."""
    return sum((read_stats(pages_shard) or {}).get("rows", 0) for pages_shard, _ in run.jobs)


@contextlib.contextmanager
def open_extract(
    fetch_dir: Path, out_dir: Path, cfg: ExtractConfig, replace: bool = False, start_workers: bool = False
) -> Iterator[ShardedRun[ShardResult]]:
    """The extract run of ``fetch_dir`` into ``out_dir``, its folder locked and its shards planned: one job per
    pages shard to (re)do (see ``ShardedRun``; its local run keeps one supervisor over all shards). ``replace``
    as for ``run_extract``. ``start_workers`` (for a run that will be local) starts the local run's workers
    before the shards are planned: their start-up (an interpreter, the extractor's imports) overlaps the
    planning and the first shard's reading instead of following them."""
    clock = Stopwatch()
    inputs = pages_shards(fetch_dir)
    resolve_extractor(cfg.page_rules().extractor)  # a wrong import path fails here, naming it, before any worker starts
    with folder_lock(out_dir, STAGE), _supervisor(cfg, len(inputs)) as supervisor:
        if start_workers and inputs:
            supervisor.start(len(inputs))  # idle ones left over (shards already done) are stopped at the end
        remove_leftovers(out_dir, STAGE, {pages_shard.name for pages_shard in inputs}, replace)
        plan = plan_units(_units(inputs, out_dir, cfg))
        refreshed = [refresh_karma(unit, stats) for unit, stats in plan.done]
        done = [result for result, _ in refreshed]
        karma_refreshed = sum(changed for _, changed in refreshed)
        destination = Destination(fetch_dir.resolve(), out_dir.resolve(), cfg)
        jobs = [(unit.source.resolve(), unit.fingerprint) for unit in plan.todo]
        summarise = functools.partial(_summarise, fetch_dir, out_dir, done, karma_refreshed, cfg, clock)
        local = functools.partial(_extract_all, plan.todo, destination, supervisor)
        workers = resolve_workers(cfg.workers)
        yield ShardedRun(STAGE, extract_shard, jobs, destination, workers, summarise, local)


def run_extract(
    fetch_dir: Path, out_dir: Path, cfg: ExtractConfig, progress: ProgressFactory = no_progress, replace: bool = False
) -> StageSummary:
    """Extract every completed pages shard of ``fetch_dir`` into ``out_dir``; a rerun redoes only what changed.

    Counts: ``pages == not_fetched + documents + sum(outcomes.values())``. ``replace`` deletes output shards whose
    pages shard is gone (without it such a run stops: see ``remove_leftovers``).
    """
    with (
        open_extract(fetch_dir, out_dir, cfg, replace, start_workers=True) as run,
        progress("extract pages", pages_to_extract(run)) as advance,
    ):
        return run.run_local(advance)
