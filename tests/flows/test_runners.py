"""The flow's task runner start: a Ray connection the head refuses is asked again, and only so many times."""

from __future__ import annotations

from typing import Any

import pytest

import flows.runners as runners
from flows.runners import ShardTasks
from pipeline.services.config import Services, TaskRunnerService
from pipeline.stage import ShardedRun

REFUSED = "Initialization failure from server:\nRuntimeError: Starting Ray client server failed."


class RefusingRunner:
    """Fails its start ``refusals`` times (across instances), as a Ray head whose client server exited does."""

    starts = 0

    def __init__(self, refusals: int, error: type[Exception]) -> None:
        self.refusals, self.error, self.exited = refusals, error, False

    def __enter__(self) -> RefusingRunner:
        RefusingRunner.starts += 1
        if RefusingRunner.starts <= self.refusals:
            raise self.error(REFUSED)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.exited = True

    def submit(self, task: Any, parameters: dict[str, Any]) -> Any:
        raise NotImplementedError


def start(monkeypatch: pytest.MonkeyPatch, kind: str, refusals: int, error: type[Exception]) -> ShardTasks:
    RefusingRunner.starts = 0
    monkeypatch.setattr(runners, "RAY_CONNECT_BACKOFF_S", 0.0)
    monkeypatch.setattr(runners, "make_task_runner", lambda services: RefusingRunner(refusals, error))
    return ShardTasks(Services(task_runner=TaskRunnerService(kind=kind)))


def test_a_refused_ray_connection_is_retried_and_logged(monkeypatch, caplog) -> None:
    tasks = start(monkeypatch, "ray", refusals=2, error=ConnectionAbortedError)
    with tasks, caplog.at_level("WARNING", logger="flows.runners"):
        runner = tasks._start_runner()
        assert RefusingRunner.starts == 3 and isinstance(runner, RefusingRunner)
    assert runner.exited  # the started runner is the one the stack closes
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2 and "attempt 1 of 3" in warnings[0] and "Starting Ray client server failed" in warnings[0]


def test_the_last_refusal_and_other_errors_fail_the_stage(monkeypatch) -> None:
    tasks = start(monkeypatch, "ray", refusals=3, error=ConnectionAbortedError)
    with tasks, pytest.raises(ConnectionAbortedError):
        tasks._start_runner()
    assert RefusingRunner.starts == 3
    tasks = start(monkeypatch, "ray", refusals=1, error=ValueError)  # not a connection: no second try
    with tasks, pytest.raises(ValueError):
        tasks._start_runner()
    assert RefusingRunner.starts == 1


def test_a_process_pool_is_not_retried(monkeypatch) -> None:
    tasks = start(monkeypatch, "process", refusals=1, error=ConnectionError)
    with tasks, pytest.raises(ConnectionError):
        tasks.run(ShardedRun("stage", print, [("job",)], None, 1, lambda results: None))  # type: ignore[arg-type]
    assert RefusingRunner.starts == 1
