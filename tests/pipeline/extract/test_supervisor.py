"""The timeout-safe process runner on its own, with a handler that sleeps as long as each task says."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from extract_test_hooks import sleep_then_echo

from pipeline.extract.supervisor import Job, JobDone, Supervisor, TaskDone, WorkerError


def run(jobs: list[Job], workers: int = 2, timeout_s: float = 1.0) -> list[TaskDone | JobDone]:
    with Supervisor(sleep_then_echo, workers, timeout_s, timeout_result="TIMEOUT", crash_result="CRASH") as supervisor:
        return list(supervisor.run(jobs))


def results_by_job(events: list[TaskDone | JobDone]) -> dict[str, list[str]]:
    by_job: dict[str, list[str]] = {}
    for event in events:
        if isinstance(event, TaskDone):
            by_job.setdefault(event.key, []).append(event.result)
    return by_job


def test_each_job_reports_its_results_in_task_order_then_done() -> None:
    jobs = [Job(f"job{index}", [(f"{index}-{task}", 0.01 * (task % 3)) for task in range(6)]) for index in range(4)]
    events = run(jobs)
    assert results_by_job(events) == {job.key: [task[0] for task in job.tasks] for job in jobs}
    for job in jobs:
        keyed = [event for event in events if event.key == job.key]
        assert isinstance(keyed[-1], JobDone) and sum(isinstance(event, JobDone) for event in keyed) == 1


def test_a_hung_task_times_out_and_its_job_resumes_after_it() -> None:
    jobs = [Job("slow", [("a", 0), ("hangs", 60), ("c", 0), ("hangs too", 60), ("e", 0)]), Job("fast", [("x", 0)])]
    started = time.monotonic()
    events = run(jobs, workers=1, timeout_s=0.5)
    assert time.monotonic() - started < 20
    assert results_by_job(events) == {"slow": ["a", "TIMEOUT", "c", "TIMEOUT", "e"], "fast": ["x"]}


def test_a_job_whose_last_task_hangs_still_completes() -> None:
    events = run([Job("tail", [("a", 0), ("hangs", 60)])], workers=1, timeout_s=0.5)
    assert results_by_job(events) == {"tail": ["a", "TIMEOUT"]}
    assert events[-1] == JobDone("tail")


def test_empty_jobs_complete_without_starting_a_worker() -> None:
    with Supervisor(sleep_then_echo, 4, 1.0, timeout_result=None, crash_result=None) as supervisor:
        assert list(supervisor.run([Job("empty", [])])) == [JobDone("empty")]
        assert supervisor._workers == []


def test_a_handler_bug_fails_the_run_instead_of_being_counted() -> None:
    with pytest.raises(WorkerError, match="exit code 1"):
        run([Job("buggy", [("a", 0), ("negative sleep", -1)])], workers=1)


def test_workers_do_not_rerun_the_parents_main_script(tmp_path: Path) -> None:
    """multiprocessing's spawn would run the script again in every worker (a flow module: seconds each)."""
    log, script = tmp_path / "imports.log", tmp_path / "main_script.py"
    script.write_text(
        textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            with open({str(log)!r}, "a") as log:
                log.write("imported\\n")
            from extract_test_hooks import sleep_then_echo
            from pipeline.extract.supervisor import Job, Supervisor
            if __name__ == "__main__":
                with Supervisor(sleep_then_echo, 2, 10.0, timeout_result=None, crash_result=None) as supervisor:
                    list(supervisor.run([Job("a", [("x", 0)]), Job("b", [("y", 0)])]))
        """)
    )
    subprocess.run([sys.executable, str(script)], check=True, timeout=120)
    assert log.read_text() == "imported\n"
