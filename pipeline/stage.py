"""What every stage shares: planning its work units, and the one summary it returns.

A stage splits its work into units (a URL batch, a docs shard, a hash bucket), each with one
output file and a fingerprint of what that output depends on: the unit's own input (its
shard's content hash) plus the settings that change the result. ``plan_units`` sorts units
into done (complete under the same fingerprint; their stats are read back) and to do. A unit
whose input or settings changed is redone alone; new input adds new units.

A per-shard stage opens as a ``ShardedRun`` (its folder locked, its units planned): the units
to do as picklable jobs, run here by ``run_local`` or mapped over any task runner by a flow, then
``finish``. A unit's fingerprint includes its stage's ``code_fingerprint`` (``pipeline.code_identity``): editing
the stage's package, or any project module it imports, redoes its units; other edits redo none.

``StageSummary`` is returned by every ``run_*`` function, written as ``OUT/summary.json``,
printed by the CLI and returned unchanged by the flow task.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Generic, TypeVar

from pipeline.progress import Advance
from pipeline.settings import resolve_workers
from pipeline.shards import atomic_write_json, completed_stats, read_stats

SUMMARY_FILE = "summary.json"
SUMMARY_FORMAT = "webtext-summary/2"  # counts nested under "counts"; a summary without "format" is the flat kind
FLAT_FIELDS = ("stage", "out_dir", "outcomes", "units", "units_done", "units_skipped", "seconds", "details", "config")
Source = TypeVar("Source")
Result = TypeVar("Result")


@dataclasses.dataclass(frozen=True, slots=True)
class WorkUnit(Generic[Source]):
    """One unit of a stage's work: the output it writes, the fingerprint it is keyed by, the input it reads."""

    output: Path
    fingerprint: str
    source: Source

    @property
    def name(self) -> str:
        return self.output.name


@dataclasses.dataclass(slots=True)
class Plan(Generic[Source]):
    """Units already complete (with the stats their run recorded) and units to (re)do, in input order."""

    done: list[tuple[WorkUnit[Source], dict[str, Any]]]
    todo: list[WorkUnit[Source]]


def plan_units(
    units: Iterable[WorkUnit[Source]], completed: Callable[[Path, str], dict[str, Any] | None] = completed_stats
) -> Plan[Source]:
    """Split ``units`` into done and to do; the one skip-if-complete rule of every stage. ``completed(output,
    fingerprint)`` gives a finished unit's stats (default: a Parquet shard's stats file, checked against it)."""
    plan: Plan[Source] = Plan([], [])
    for unit in units:
        stats = completed(unit.output, unit.fingerprint)
        if stats is None:
            plan.todo.append(unit)
        else:
            plan.done.append((unit, stats))
    return plan


def input_sha256(shard: Path) -> str | None:
    """An input shard's content hash, as its stats file recorded it (the key of the units that read it)."""
    return (read_stats(shard) or {}).get("sha256")


@dataclasses.dataclass(slots=True)
class StageSummary:
    """One stage run: counts by outcome, the stage's headline counts, units done and skipped, seconds.

    ``outcomes`` counts what happened to the stage's records (fetch: ``ok``, ``http_404``, ...;
    the filtering stages: rejects by reason). ``counts`` holds the headline numbers (``documents``,
    ``kept``, ``urls_kept``, ...); ``details`` anything else worth keeping (clusters, sources).
    """

    stage: str
    out_dir: str
    outcomes: dict[str, int]
    counts: dict[str, int]
    units: int
    units_skipped: int
    seconds: float
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    config: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def units_done(self) -> int:
        """Units this run did (the rest were complete already)."""
        return self.units - self.units_skipped

    def as_json(self) -> dict[str, Any]:
        """The summary as ``summary.json`` holds it (``from_json`` reads it back)."""
        return {
            "format": SUMMARY_FORMAT,
            "stage": self.stage,
            "out_dir": self.out_dir,
            "outcomes": dict(sorted(self.outcomes.items())),
            "counts": self.counts,
            "units": self.units,
            "units_done": self.units_done,
            "units_skipped": self.units_skipped,
            "seconds": self.seconds,
            "details": self.details,
            "config": self.config,
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "a stage summary") -> StageSummary:
        """A summary as ``as_json`` wrote it, or as webtext wrote it before the counts were nested (its counts were
        the top level's other whole numbers); anything else raises ``SummaryError`` naming ``source``."""
        if not isinstance(data, dict) or not isinstance(data.get("stage"), str):
            raise SummaryError(f"{source} is not a webtext stage summary (no stage name)")
        if data.get("format", SUMMARY_FORMAT) != SUMMARY_FORMAT:
            raise SummaryError(f"{source} has format {data['format']!r}; this webtext reads {SUMMARY_FORMAT!r}")
        if "format" in data:
            counts = data.get("counts")
        else:  # flat: the summary's own fields, and the counts beside them
            counts = {key: value for key, value in data.items() if key not in FLAT_FIELDS and _is_whole(value)}
        outcomes, details, config = data.get("outcomes", {}), data.get("details", {}), data.get("config", {})
        if not all(isinstance(part, dict) for part in (counts, outcomes, details, config)):
            raise SummaryError(f"{source}: its counts, outcomes, details or config are not mappings")
        try:
            units, skipped = int(data.get("units", 0)), int(data.get("units_skipped", 0))
            seconds = float(data["seconds"])
        except (KeyError, TypeError, ValueError) as error:
            raise SummaryError(f"{source}: its units or seconds are missing or malformed ({error})") from None
        return cls(
            stage=data["stage"],
            out_dir=str(data.get("out_dir", "")),
            outcomes=outcomes,
            counts=counts,
            units=units,
            units_skipped=skipped,
            seconds=seconds,
            details=details,
            config=config,
        )

    @classmethod
    def of_shards(
        cls,
        stage: str,
        out_dir: Path,
        results: Sequence[Any],
        summed: Sequence[str],
        clock: Stopwatch,
        config: dict[str, Any],
        **details: Any,
    ) -> StageSummary:
        """The summary of a per-shard stage: outcomes and the ``summed`` fields added over its shard results
        (each with ``name``, ``skipped`` and ``outcomes``); ``details`` gains the shard names."""
        outcomes: Counter[str] = Counter()
        for result in results:
            outcomes.update(result.outcomes)
        return cls(
            stage=stage,
            out_dir=str(out_dir),
            outcomes=dict(outcomes),
            counts={name: sum(getattr(result, name) for result in results) for name in summed},
            units=len(results),
            units_skipped=sum(result.skipped for result in results),
            seconds=clock.seconds(),
            details={**details, "shards": sorted(result.name for result in results)},
            config=config,
        )

    def write(self) -> StageSummary:
        """Write ``summary.json`` into the output directory (atomically); returns self."""
        atomic_write_json(Path(self.out_dir) / SUMMARY_FILE, self.as_json())
        return self


class SummaryError(ValueError):
    """A ``summary.json`` that is not a stage summary this code can read; the message names the file."""


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_summary(folder: Path, name: str = SUMMARY_FILE) -> StageSummary | None:
    """``folder``'s ``summary.json`` (or another summary ``name``): ``None`` when the stage never finished there,
    ``SummaryError`` naming the file when it cannot be read."""
    path = folder / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SummaryError(f"{path} is not JSON ({error})") from None
    return StageSummary.from_json(data, str(path))


_SHARED: Any = None  # in a worker process: ``run_units``' shared argument, sent once


def _share(shared: Any) -> None:
    global _SHARED
    _SHARED = shared


def _with_shared(function: Callable[..., Result], *job: Any) -> Result:
    return function(_SHARED, *job)


def workers_for_shards(workers: int | None, shards: Sequence[Path], documents_per_worker: int) -> int:
    """``resolve_workers``, but an unset setting starts no more processes than the shards' documents (their stats'
    rows) repay: one per ``documents_per_worker``, past which a spawned worker's start (an interpreter, imports)
    costs less than its share. A number the user set is used as given."""
    if workers:
        return resolve_workers(workers)
    documents = sum(int((read_stats(shard) or {}).get("rows", 0)) for shard in shards)
    return min(resolve_workers(None), max(1, -(-documents // documents_per_worker)))


def run_units(
    function: Callable[..., Result],
    jobs: Sequence[tuple[Any, ...]],
    workers: int,
    advance: Callable[[int], None],
    shared: Any = None,
) -> list[Result]:
    """``function(shared, *job)`` for every job, in order: in this process when one worker (or one job) is enough,
    else in ``workers`` spawned processes (never a fork of a threaded parent such as Prefect's task runner).
    ``shared`` (a large read-only argument, such as the references) travels to each worker once, not per job."""
    workers = min(workers, len(jobs))
    if workers <= 1:
        results = []
        for position, job in enumerate(jobs, start=1):
            results.append(function(shared, *job))
            advance(position)
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_share, initargs=(shared,)) as pool:
        futures = [pool.submit(_with_shared, function, *job) for job in jobs]
        results = []
        for position, future in enumerate(futures, start=1):
            results.append(future.result())
            advance(position)
        return results


@dataclasses.dataclass(slots=True)
class ShardedRun(Generic[Result]):
    """A per-shard stage opened under its folder lock (``open_<stage>``): its units still to do, and how to finish.

    ``function(shared, *job)`` does one unit and returns its result. ``function`` is module-level and ``jobs``
    and ``shared`` are small and picklable, and a job needs nothing of the process holding the lock (it loads
    what it needs itself), so a flow can map the jobs over any task runner, other machines included. Stage-wide
    steps (the plan, sweeps, a tokenizer, a manifest) happen in ``open_<stage>`` and in ``finish``, in the lock
    holder, which calls ``finish`` with the results in job order before leaving the ``with`` block.
    ``run_local`` is what ``run_<stage>`` does: ``workers`` processes, or the stage's own ``local`` runner.
    """

    stage: str
    function: Callable[..., Result]
    jobs: list[tuple[Any, ...]]
    shared: Any
    workers: int
    summarise: Callable[[list[Result]], StageSummary]  # the done units' results are its own: it adds them
    local: Callable[[Advance], list[Result]] | None = None  # a runner of all jobs at once, results in job order

    def finish(self, results: Sequence[Result]) -> StageSummary:
        """The run's summary from its jobs' results, in job order; written to ``summary.json``."""
        assert len(results) == len(self.jobs), f"{self.stage}: {len(results)} results for {len(self.jobs)} jobs"
        return self.summarise(list(results))

    def run_local(self, advance: Advance) -> StageSummary:
        """Every job on this machine, then ``finish``."""
        if self.local is not None:
            results = self.local(advance)
        else:
            results = run_units(self.function, self.jobs, self.workers, advance, self.shared)
        return self.finish(results)


def headline(counts: dict[str, Any]) -> str:
    """A stage's headline counts on one line: ``documents 36, kept 29``."""
    return ", ".join(f"{name} {value:,}" for name, value in counts.items())


class Stopwatch:
    """Seconds since a stage run started, for its summary."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self._started, 3)
