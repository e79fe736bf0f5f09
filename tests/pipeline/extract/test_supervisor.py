"""The timeout-safe process runner on its own, with a handler that sleeps as long as each task says."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from extract_test_hooks import finished_at, sleep_then_echo

from pipeline.extract.supervisor import Job, JobDone, Supervisor, TaskDone, WorkerError
from pipeline.extract.worker import PROGRESS_BYTES, Progress


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


def test_results_a_killed_worker_had_not_sent_are_run_again_and_reported_in_order() -> None:
    """a, b, c finish within one batch, so their results die with the worker that hangs (or dies) after them."""
    tasks = [("a", 0), ("b", 0), ("c", 0), ("hangs", 60), ("e", 0), ("dies", 0), ("g", 0)]
    events = run([Job("batched", tasks)], workers=1, timeout_s=0.5)
    assert results_by_job(events) == {"batched": ["a", "b", "c", "TIMEOUT", "e", "CRASH", "g"]}
    assert events[-1] == JobDone("batched")


def test_a_caller_slower_than_the_time_limit_times_no_task_out() -> None:
    """While the caller is busy the worker finishes its tasks and waits to send them: no task's time runs."""
    events, tasks = [], [(f"{index}" + "x" * 300_000, 0) for index in range(12)]  # more than a pipe holds
    with Supervisor(sleep_then_echo, 1, 0.5, timeout_result="TIMEOUT", crash_result="CRASH") as supervisor:
        for event in supervisor.run([Job("big", tasks)]):
            if not events:
                time.sleep(1.5)
            events.append(event)
    assert results_by_job(events) == {"big": [task[0] for task in tasks]}


def test_a_worker_starts_its_next_job_before_the_caller_is_told_the_last_one_is_done() -> None:
    """The caller writes a finished job's output (a shard) while the worker gets on with the next job."""
    first_written_at, second_ran_at = 0.0, 0.0
    with Supervisor(finished_at, 1, 10.0, timeout_result=None, crash_result=None) as supervisor:
        for event in supervisor.run([Job("first", [0]), Job("second", [0])]):
            if isinstance(event, JobDone) and event.key == "first":
                time.sleep(0.5)  # writing out the first job
                first_written_at = time.monotonic()
            elif isinstance(event, TaskDone) and event.key == "second":
                second_ran_at = event.result
    assert 0 < second_ran_at < first_written_at - 0.4


def test_the_progress_record_is_never_read_half_written() -> None:
    """The parent reads a worker's record while the worker rewrites it twice per task: never a value in between."""
    writer = "import sys\nfrom pipeline.extract.worker import Progress\nprogress = Progress(int(sys.argv[1]))\n"
    writer += "for started in range(1, 100_000):\n    progress.start(started)\n    progress.end()\n"
    with tempfile.TemporaryFile() as shared:
        os.ftruncate(shared.fileno(), PROGRESS_BYTES)
        progress, began = Progress(shared.fileno()), time.monotonic()
        child = subprocess.Popen([sys.executable, "-c", writer, str(shared.fileno())], pass_fds=(shared.fileno(),))
    last, exited = 0, False
    while not exited:
        exited = child.poll() is not None
        started, since = progress.read()
        assert started >= last and (started == 0 or since is None or began <= since <= time.monotonic())
        last = started
    progress.close()
    assert child.returncode == 0 and (last, since) == (99_999, None)


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


def test_workers_started_ahead_take_the_jobs_and_unused_ones_are_stopped() -> None:
    """``start`` before any job (the stage does it before planning): they run the jobs; one left without a job, or
    still starting, is stopped at the end all the same."""
    with Supervisor(sleep_then_echo, 3, 5.0, timeout_result=None, crash_result=None) as supervisor:
        supervisor.start(3)
        started = list(supervisor._workers)
        assert len(started) == 3
        events = list(supervisor.run([Job("only", [("a", 0), ("b", 0)])]))
        assert results_by_job(events) == {"only": ["a", "b"]} and supervisor._workers == started
    assert all(worker.process.returncode is not None for worker in started)
