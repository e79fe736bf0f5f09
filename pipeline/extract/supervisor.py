"""Run a per-task handler in worker processes, with a time limit per task that a hang cannot escape.

A process pool cannot take back a worker stuck inside C code (lxml on a pathological page),
and a signal-based alarm cannot interrupt C code either. So each worker here is a process of
our own behind its own pipe: the parent waits for every result with a deadline, and a worker
past it is killed (SIGKILL works in any state) and replaced, its job resuming after the task
that hung. A worker killed by a signal (a segfault, the OOM killer) is handled the same way.

A job (one shard) runs on one worker from start to end, so its results arrive in task order
and the caller can write them as they come. What counts as a failure of the run rather than
of one task: a worker that cannot start, a handler raising ``TaskInputError`` (re-raised here
with the worker's message), or a handler raising anything else (the worker's traceback is on
stderr). Workers use ``spawn``: ``fork`` is unsafe under the threads Prefect and Arrow run.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

READY, DONE, FAILED = "ready", "done", "failed"
STARTUP_TIMEOUT_S = 120.0  # importing the extractor on a loaded machine, not a page
STOP_TIMEOUT_S = 2.0


class TaskInputError(ValueError):
    """A task's input is unusable (e.g. a corrupt archive record): the run fails, naming it."""


class WorkerError(RuntimeError):
    """A worker could not start or its handler failed unexpectedly: a failure of the run."""


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """Tasks run in order on one worker; ``key`` names the job in the events."""

    key: str
    tasks: Sequence[Any]


@dataclasses.dataclass(frozen=True, slots=True)
class TaskDone:
    key: str
    task: Any
    result: Any


@dataclasses.dataclass(frozen=True, slots=True)
class JobDone:
    key: str


Event = TaskDone | JobDone


def _worker_main(connection: Connection, handler: Callable[[Any], Any]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns shutdown; Ctrl-C must not kill workers mid-send
    connection.send((READY, None))
    while True:
        try:
            tasks = connection.recv()
        except EOFError:  # the parent closed the pipe: no more jobs
            return
        for task in tasks:
            try:
                result = handler(task)
            except TaskInputError as error:
                connection.send((FAILED, str(error)))
                return
            connection.send((DONE, result))


class _Worker:
    """One worker process, its pipe, the rest of its job and the deadline of its current task."""

    def __init__(self, handler: Callable[[Any], Any]) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child_end = context.Pipe(duplex=True)
        self.process = context.Process(target=_worker_main, args=(child_end, handler), daemon=True)
        self.process.start()
        child_end.close()  # only the child holds its end now, so its death reads as EOF here
        self.ready = False
        self.key: str | None = None
        self.remaining: deque[Any] = deque()
        self.deadline = time.monotonic() + STARTUP_TIMEOUT_S

    @property
    def busy(self) -> bool:
        return self.key is not None

    def assign(self, key: str, tasks: Iterable[Any], task_timeout_s: float) -> None:
        """Hand over a job; a starting worker gets it once ready, so starts overlap instead of queueing."""
        self.key, self.remaining = key, deque(tasks)
        if self.ready:
            self.send_job(task_timeout_s)

    def send_job(self, task_timeout_s: float) -> None:
        try:
            self.connection.send(list(self.remaining))
        except OSError:  # it died after starting: the next wait reads EOF and handles it as a crash
            pass
        self.deadline = time.monotonic() + task_timeout_s

    def kill(self) -> int | None:
        """Kill the process (whatever it is doing) and return its exit code."""
        self.process.kill()
        self.process.join()
        self.connection.close()
        return self.process.exitcode

    def stop(self) -> None:
        """Let an idle worker exit on its own; kill a busy one."""
        if self.busy:
            self.kill()
            return
        self.connection.close()
        self.process.join(STOP_TIMEOUT_S)
        if self.process.is_alive():
            self.kill()


class Supervisor:
    """Runs jobs on up to ``workers`` processes; each task gets ``task_timeout_s`` seconds.

    A task that times out yields ``timeout_result``; one whose worker died of a signal
    yields ``crash_result``. Workers start on first use and live until ``close``.
    """

    def __init__(
        self,
        handler: Callable[[Any], Any],
        workers: int,
        task_timeout_s: float,
        *,
        timeout_result: Any,
        crash_result: Any,
    ) -> None:
        assert workers >= 1 and task_timeout_s > 0
        self._handler = handler
        self._max_workers = workers
        self._task_timeout_s = task_timeout_s
        self._timeout_result = timeout_result
        self._crash_result = crash_result
        self._workers: list[_Worker] = []

    def run(self, jobs: Iterable[Job]) -> Iterator[Event]:
        """Events of every job, each job's in task order; jobs are pulled only when a worker is free."""
        pending = iter(jobs)
        exhausted = False
        while True:
            while not exhausted and self._has_capacity():
                job = next(pending, None)
                if job is None:
                    exhausted = True
                elif job.tasks:
                    self._idle_worker().assign(job.key, job.tasks, self._task_timeout_s)
                else:
                    yield JobDone(job.key)
            busy = [worker for worker in self._workers if worker.busy]
            if not busy:
                return
            yield from self._step(busy)

    def _has_capacity(self) -> bool:
        return len(self._workers) < self._max_workers or any(not worker.busy for worker in self._workers)

    def _idle_worker(self) -> _Worker:
        idle = next((worker for worker in self._workers if not worker.busy), None)
        if idle is None:
            idle = _Worker(self._handler)
            self._workers.append(idle)
        return idle

    def _step(self, busy: list[_Worker]) -> Iterator[Event]:
        """Wait for the next message or the earliest deadline, then handle what happened."""
        timeout = max(0.0, min(worker.deadline for worker in busy) - time.monotonic())
        readable = wait([worker.connection for worker in busy], timeout)
        for worker in busy:
            if worker.connection in readable:
                yield from self._receive(worker)
            elif worker.deadline <= time.monotonic() and not worker.connection.poll(0):
                yield from self._expire(worker)

    def _receive(self, worker: _Worker) -> Iterator[Event]:
        try:
            kind, payload = worker.connection.recv()
        except (EOFError, OSError):
            yield from self._crashed(worker)
            return
        if kind == FAILED:
            raise TaskInputError(payload)
        if kind == READY:
            worker.ready = True
            worker.send_job(self._task_timeout_s)
            return
        worker.deadline = time.monotonic() + self._task_timeout_s
        assert worker.key is not None, "a result from an idle worker"
        yield TaskDone(worker.key, worker.remaining.popleft(), payload)
        if not worker.remaining:
            yield JobDone(worker.key)
            worker.key = None

    def _expire(self, worker: _Worker) -> Iterator[Event]:
        if not worker.ready:
            worker.kill()
            raise WorkerError(f"a worker did not start within {STARTUP_TIMEOUT_S:.0f} s")
        worker.kill()
        yield from self._replace(worker, self._timeout_result)

    def _crashed(self, worker: _Worker) -> Iterator[Event]:
        worker.process.join(STOP_TIMEOUT_S)  # let it finish exiting, so its own exit code is the one we read
        exit_code = worker.kill()
        if not worker.ready:
            raise WorkerError(f"a worker exited while starting (exit code {exit_code}); its error is above")
        if exit_code is None or exit_code >= 0:  # a Python exception or exit: a bug, not a page to count
            task = worker.remaining[0]
            raise WorkerError(f"a worker failed on {task!r} (exit code {exit_code}); its traceback is above")
        yield from self._replace(worker, self._crash_result)

    def _replace(self, dead: _Worker, result: Any) -> Iterator[Event]:
        """Count the task ``dead`` was on, start a replacement and resume the job after that task."""
        assert dead.key is not None
        key, task, remaining = dead.key, dead.remaining.popleft(), dead.remaining
        self._workers.remove(dead)
        yield TaskDone(key, task, result)
        if not remaining:
            yield JobDone(key)
            return
        replacement = _Worker(self._handler)
        self._workers.append(replacement)
        replacement.assign(key, remaining, self._task_timeout_s)

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
