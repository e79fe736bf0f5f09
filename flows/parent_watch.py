"""Run a command that must not outlive the process that started it, even when that process is SIGKILLed.

``python flows/parent_watch.py -- COMMAND...`` (standard library only: it runs by path) is started by its
caller in a session of its own (``start_new_session``); it runs COMMAND as its child in that session's process
group and watches its own parent. Once the parent is gone (its parent id changes: reparented), it stops the
whole group, SIGTERM first, then SIGKILL after a grace period, itself included. Linux's parent-death signal
alone would not do: it reaches only a direct child, not the workers a server forks. A caller that ends
normally signals the group itself; the watch then waits for COMMAND to end and exits with its status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import NoReturn

POLL_S = 0.2
GRACE_S = 5.0


def watch(command: list[str], poll_s: float = POLL_S, grace_s: float = GRACE_S) -> int:
    """Run ``command``; stop this process group when the parent goes. Returns ``command``'s exit status."""
    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: None)  # the group's SIGTERM is for the child: wait for it to end
    child = subprocess.Popen(command)
    while (status := child.poll()) is None:
        if os.getppid() != parent:
            return _stop_group(child, grace_s)
        time.sleep(poll_s)
    return status


def _stop_group(child: subprocess.Popen, grace_s: float) -> NoReturn:
    os.killpg(0, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=grace_s)
    os.killpg(0, signal.SIGKILL)  # whatever is left of the group, this process included
    raise SystemExit(1)  # not reached


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "--" or len(argv) < 2:
        print("usage: python flows/parent_watch.py -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    return watch(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
