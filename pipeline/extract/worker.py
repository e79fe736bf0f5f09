"""A worker process's side of the supervisor: run each task of a job, report the results in batches.

One message and one wake-up of the parent per page cost both processes more than reading a small
page's record (system calls are dear in a VM), so results go back in batches of up to ``BATCH_S``
seconds of work. The parent still needs to know which task a worker is on, and since when, to
kill it exactly when one task passes its time limit: the worker writes that to a small shared
memory record (``Progress``) before and after each task, stores rather than system calls, which
the parent reads when a deadline comes. Between tasks (sending a batch the parent is slow to read)
no task's time runs. A worker killed with results not yet sent loses them; the parent knows which
tasks they were and has them run again (extraction is a pure function of the page).

This module is all a worker imports besides its handler's module, so it imports little.
"""

from __future__ import annotations

import mmap
import os
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

READY, DONE = "ready", "done"
BATCH_S = 0.05  # results wait at most about this long: the progress bar and the shard writer see them soon enough
# Two int64 slots: how many tasks the worker has started, and when it started the one it is on
# (time.monotonic_ns()), BETWEEN_TASKS when it is on none.
STARTED, SINCE = 0, 1
PROGRESS_BYTES = 16
BETWEEN_TASKS = -1


class Progress:
    """The shared record of a worker's progress: written by the worker, read by the parent.

    Each slot is read and written whole, as one aligned 8-byte copy through a memoryview
    (``struct.pack_into`` would not do: it zeroes the bytes before writing them, and the parent
    could read a zero in between). The worker writes the time before the count, so the parent
    never pairs a new task with the previous task's start (at worst the new start with the old
    count, for the instant between the two stores: a deadline too far off to expire).
    """

    def __init__(self, descriptor: int) -> None:
        self._memory = mmap.mmap(descriptor, PROGRESS_BYTES)
        self._slots = memoryview(self._memory).cast("q")

    def start(self, started: int) -> None:
        """The worker is starting its ``started``-th task (counted over its life), now."""
        self._slots[SINCE] = time.monotonic_ns()
        self._slots[STARTED] = started

    def end(self) -> None:
        """The worker has finished the task it was on."""
        self._slots[SINCE] = BETWEEN_TASKS

    def read(self) -> tuple[int, float | None]:
        """(tasks started, since when (``time.monotonic()``) it is on the last one, None when it finished it)."""
        started, since = self._slots[STARTED], self._slots[SINCE]
        return started, None if since == BETWEEN_TASKS else since / 1e9

    def close(self) -> None:
        self._slots.release()
        self._memory.close()


def serve(connection: Connection, progress_descriptor: int) -> None:
    """A worker's loop: receive the handler, then jobs (lists of tasks), and send back their results in batches."""
    progress = Progress(progress_descriptor)
    handler: Callable[[object], object] = connection.recv()  # unpickling imports the handler's module
    prepare = getattr(handler, "prepare", None)
    if prepare is not None:  # the handler's libraries, imported while the parent still prepares the first job
        prepare()
    try:
        connection.send((READY, None))
    except OSError:  # started ahead and no longer needed: the parent closed the pipe meanwhile
        os._exit(0)
    started = 0
    while True:
        try:
            tasks = connection.recv()
        except EOFError:  # the parent closed the pipe: no more jobs, and nothing left to write
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)  # skips tearing down the extractor's modules: a tenth of a second, per worker, for nothing
        results: list[object] = []
        sent_at = time.monotonic()
        for task in tasks:
            started += 1
            progress.start(started)
            results.append(handler(task))
            progress.end()
            if time.monotonic() - sent_at >= BATCH_S:
                connection.send((DONE, results))
                results, sent_at = [], time.monotonic()
        if results:
            connection.send((DONE, results))
