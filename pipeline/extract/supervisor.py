"""Run a per-task handler in worker processes, with a time limit per task that a hang cannot escape.

A process pool cannot take back a worker stuck inside C code (lxml on a pathological page),
and a signal-based alarm cannot interrupt C code either. So each worker here is a process of
our own behind its own pipe: the parent knows when the task a worker is on started, and a
worker past its deadline is killed (SIGKILL works in any state) and replaced, its job resuming
after the task that hung. A worker killed by a signal (a segfault, the OOM killer) is handled
the same way.

A job (one shard) runs on one worker from start to end, so its results arrive in task order
and the caller can write them as they come. What counts as a failure of the run rather than
of one task: a worker that cannot start, or a handler raising (the worker's traceback is on
stderr); a handler reports a bad input as a result, not an exception.

Workers are fresh interpreters (``fork`` is unsafe under the threads Prefect and Arrow run)
started with ``subprocess`` rather than multiprocessing's ``spawn``: spawn re-imports the
parent's ``__main__`` in every worker (the whole Prefect flow module, or the CLI, seconds of
CPU per worker and per replacement), while a worker needs only the handler's module. The
worker gets the parent's ``sys.path`` and then the pickled handler over its pipe.

Results come back in batches, and the task a worker is on, and since when, is read from a small
record it shares with the parent (see ``worker``): supervising a task costs the worker no system
call and wakes the parent for none. Results a killed worker had not sent are computed again by its
replacement, before the task that hung or crashed, which keeps its timeout or crash result.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing import Pipe
from multiprocessing.connection import wait
from multiprocessing.spawn import get_executable
from typing import Any

from pipeline.extract import worker as worker_side
from pipeline.extract.worker import PROGRESS_BYTES, READY, Progress

STARTUP_TIMEOUT_S = 120.0  # importing the extractor on a loaded machine, not a page
STOP_TIMEOUT_S = 2.0
# The whole program of a worker: ignore Ctrl-C (the parent owns shutdown, a worker must not die
# mid-send), read the parent's sys.path, then serve. argv[1] is the worker's end of the pipe, argv[2]
# its progress record.
WORKER_BOOT = f"""\
import signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
from multiprocessing.connection import Connection
connection = Connection(int(sys.argv[1]))
sys.path[:] = connection.recv()
from {worker_side.__name__} import serve
serve(connection, int(sys.argv[2]))
"""


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


@dataclasses.dataclass(frozen=True, slots=True)
class _Settled:
    """A task of the job whose result is known (it hung or crashed its worker) while earlier ones run again."""

    task: Any
    result: Any


class _Worker:
    """One worker process, its pipe and progress record, and the rest of its job (tasks not reported yet)."""

    def __init__(self, handler: Callable[[Any], Any]) -> None:
        self.connection, child_end = Pipe(duplex=True)
        with tempfile.TemporaryFile() as progress_file:  # the mapping outlives the file object
            os.ftruncate(progress_file.fileno(), PROGRESS_BYTES)
            self.progress = Progress(progress_file.fileno())
            descriptors = (child_end.fileno(), progress_file.fileno())
            command = [get_executable(), "-c", WORKER_BOOT, *map(str, descriptors)]
            self.process = subprocess.Popen(command, pass_fds=descriptors, stdin=subprocess.DEVNULL)
        child_end.close()  # only the child holds its end now, so its death reads as EOF here
        try:
            self.connection.send(list(sys.path))
            self.connection.send(handler)
        except OSError:  # it died at once: the next wait reads EOF and reports it as a failed start
            pass
        self.ready = False
        self.key: str | None = None
        self.remaining: deque[Any] = deque()  # the job's tasks not reported yet, _Settled among them after a kill
        self.reported = 0  # results received, over the worker's life (the progress record counts tasks started)
        self.deadline = time.monotonic() + STARTUP_TIMEOUT_S  # before it starts a task: to start, or to start one

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
            self.connection.send([task for task in self.remaining if not isinstance(task, _Settled)])
        except OSError:  # it died after starting: the next wait reads EOF and handles it as a crash
            pass
        self.deadline = time.monotonic() + task_timeout_s

    def progress_now(self) -> tuple[int, float | None]:
        """(tasks started, since when it is on one not reported yet, or None)."""
        started, since = self.progress.read()
        return started, since if started > self.reported else None

    def deadline_of(self, progress: tuple[int, float | None], task_timeout_s: float) -> float:
        """When the task it is on runs out of time; between tasks, ``task_timeout_s`` after it was last heard of."""
        _, since = progress
        return self.deadline if since is None else since + task_timeout_s

    def position_of(self, progress: tuple[int, float | None]) -> int:
        """Where the task it is on (else the next it starts) is in ``remaining``; before it: done, not reported."""
        started, since = progress
        pending = started - self.reported + (since is None)  # it is on the pending-th task not settled yet
        unsettled = [index for index, task in enumerate(self.remaining) if not isinstance(task, _Settled)]
        return unsettled[min(pending, len(unsettled)) - 1]  # past the job's end: its last task

    def exit_code(self, wait_s: float) -> int | None:
        """The exit code once the process ends within ``wait_s`` (negative: the signal that killed it), else None."""
        try:
            return self.process.wait(wait_s)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> int | None:
        """Kill the process (whatever it is doing) and return its exit code."""
        if self.process.returncode is None:
            self.process.kill()
        self.connection.close()
        return self.process.wait()

    def stop(self) -> None:
        """Let an idle worker exit on its own; kill a busy one, or one started ahead that never had a job."""
        if self.busy or not self.ready:
            self.kill()
        else:
            self.connection.close()
            if self.exit_code(STOP_TIMEOUT_S) is None:
                self.kill()
        self.progress.close()


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

    def start(self, workers: int) -> None:
        """Start up to ``workers`` processes now, before any job: a worker's interpreter and imports take a few
        tenths of a second, which then overlap whatever the caller does to prepare the first job."""
        while len(self._workers) < min(workers, self._max_workers):
            self._workers.append(_Worker(self._handler))

    def run(self, jobs: Iterable[Job]) -> Iterator[Event]:
        """Events of every job, each job's in task order; jobs are pulled only when a worker is free.

        A worker that finished its job gets the next one before the caller hears of the end (and
        writes out that job's output): the worker does not wait for the caller.
        """
        pending = iter(jobs)
        exhausted = False
        events: list[Event] = []
        while True:
            while not exhausted and self._has_capacity():
                job = next(pending, None)
                if job is None:
                    exhausted = True
                elif job.tasks:
                    self._idle_worker().assign(job.key, job.tasks, self._task_timeout_s)
                else:
                    events.append(JobDone(job.key))
            yield from events
            busy = [worker for worker in self._workers if worker.busy]
            if not busy:
                return
            events = list(self._step(busy))

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
        deadline = min(worker.deadline_of(worker.progress_now(), self._task_timeout_s) for worker in busy)
        readable = wait([worker.connection for worker in busy], max(0.0, deadline - time.monotonic()))
        for worker in busy:
            if worker.connection in readable:
                yield from self._receive(worker)
                continue
            progress = worker.progress_now()  # what it is on when found late: the task to settle if killed
            if worker.deadline_of(progress, self._task_timeout_s) <= time.monotonic() and not worker.connection.poll(0):
                yield from self._expire(worker, progress)

    def _receive(self, worker: _Worker) -> Iterator[Event]:
        try:
            kind, payload = worker.connection.recv()
        except (EOFError, OSError):
            yield from self._crashed(worker)
            return
        if kind == READY:
            worker.ready = True
            worker.send_job(self._task_timeout_s)
            return
        worker.deadline = time.monotonic() + self._task_timeout_s
        worker.reported += len(payload)
        assert worker.key is not None, "results from an idle worker"
        for result in payload:
            yield from self._settled(worker)
            yield TaskDone(worker.key, worker.remaining.popleft(), result)
        yield from self._settled(worker)
        if not worker.remaining:
            yield JobDone(worker.key)
            worker.key = None

    @staticmethod
    def _settled(worker: _Worker) -> Iterator[Event]:
        """The known results at the head of the job: their turn in task order has come."""
        while worker.remaining and isinstance(worker.remaining[0], _Settled):
            settled = worker.remaining.popleft()
            yield TaskDone(worker.key, settled.task, settled.result)

    def _expire(self, worker: _Worker, progress: tuple[int, float | None]) -> Iterator[Event]:
        worker.kill()
        if not worker.ready:
            raise WorkerError(f"a worker did not start within {STARTUP_TIMEOUT_S:.0f} s")
        yield from self._replace(worker, worker.position_of(progress), self._timeout_result)

    def _crashed(self, worker: _Worker) -> Iterator[Event]:
        worker.exit_code(STOP_TIMEOUT_S)  # let it finish exiting, so its own exit code is the one we read
        exit_code = worker.kill()
        if not worker.ready:
            raise WorkerError(f"a worker exited while starting (exit code {exit_code}); its error is above")
        position = worker.position_of(worker.progress_now())
        if exit_code is None or exit_code >= 0:  # a Python exception or exit: a bug, not a page to count
            task = worker.remaining[position]
            raise WorkerError(f"a worker failed on {task!r} (exit code {exit_code}); its traceback is above")
        yield from self._replace(worker, position, self._crash_result)

    def _replace(self, dead: _Worker, position: int, result: Any) -> Iterator[Event]:
        """Settle the task ``dead`` was on (at ``position``) with ``result``; a replacement runs again the
        tasks whose results died with it and resumes the job after that task."""
        assert dead.key is not None
        key, remaining = dead.key, dead.remaining
        remaining[position] = _Settled(remaining[position], result)
        self._workers.remove(dead)
        dead.progress.close()
        yield from self._settled(dead)
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
