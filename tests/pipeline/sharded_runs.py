"""Running a ``ShardedRun`` the way a flow maps it, and comparing its outputs with a local run's.

``tests/pipeline`` goes on ``sys.path`` (its conftest), so the stage tests import this module by name.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from pipeline.shards import file_sha256
from pipeline.stage import ShardedRun, StageSummary

OUTPUT_PATTERNS = ("*.parquet", "*.bin", "*.idx", "manifest.json")


def run_mapped(run: ShardedRun[Any]) -> StageSummary:
    """Each job pickled and run alone in a fresh spawned process (none of the lock holder's state), last job first,
    one at a time; then ``finish`` with the results in job order."""
    function, shared, jobs = pickle.loads(pickle.dumps((run.function, run.shared, run.jobs)))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = {
            position: pool.submit(function, shared, *jobs[position]).result() for position in reversed(range(len(jobs)))
        }
    return run.finish([results[position] for position in range(len(jobs))])


def output_hashes(out_dir: Path) -> dict[str, str]:
    """The sha256 of every output file (shards, rejects, scores, token files, manifest) by relative path."""
    paths = {path for pattern in OUTPUT_PATTERNS for path in out_dir.rglob(pattern)}
    return {str(path.relative_to(out_dir)): file_sha256(path) for path in sorted(paths)}


def same_counts(summary: StageSummary, local: StageSummary, per_run: tuple[str, ...] = ()) -> bool:
    """Two summaries of one output agree on its outcomes, units and counts (but the ``per_run`` counts, which
    say what this run did)."""
    counts = [{key: value for key, value in each.counts.items() if key not in per_run} for each in (summary, local)]
    return counts[0] == counts[1] and (summary.outcomes, summary.units) == (local.outcomes, local.units)


def check_mapped_against_local(
    run_stage: Callable[..., StageSummary],
    open_stage: Callable[..., AbstractContextManager[ShardedRun[Any]]],
    inputs: Path,
    cfg: Any,
    root: Path,
    jobs: int,
    per_run: tuple[str, ...] = (),
    files: Callable[[Path], dict[str, Any]] = output_hashes,
) -> None:
    """``run_stage`` into ``root/local``; ``open_stage`` into ``root/mapped`` with its ``jobs`` jobs run as a flow
    maps them: the same ``files`` and counts. Then a rerun opens with nothing to do and changes nothing."""
    local = run_stage(inputs, root / "local", cfg)
    with open_stage(inputs, root / "mapped", cfg) as run:
        assert len(run.jobs) == jobs
        mapped = run_mapped(run)
    written = files(root / "mapped")
    assert written == files(root / "local") and written
    assert same_counts(mapped, local) and mapped.units_done == local.units_done == jobs
    assert mapped.details["code_fingerprint"] == local.details["code_fingerprint"]
    with open_stage(inputs, root / "mapped", cfg) as rerun:
        assert rerun.jobs == []
        again = rerun.finish([])
    assert again.units_skipped == again.units == jobs and same_counts(again, local, per_run)
    assert files(root / "mapped") == written
