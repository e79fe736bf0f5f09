"""One run per output folder: a stage run holds an exclusive lock on its ``--out`` for as long as it runs.

``OUT/_lock.json`` names the run that holds the folder (stage, pid, host, start time) and that
run holds an ``flock`` on it, which the kernel drops when the process ends however it ends. A
second run on the folder fails at once with a message naming the first. A lock file nobody
holds was left by a run that died: it is taken over, with a warning that names it. Worker
processes of a run work under their parent's lock and take none themselves.

``flock`` is reliable on local disks; on a network file system that does not support it, do not
point two machines at one folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = "_lock.json"
log = logging.getLogger(__name__)


class FolderLocked(RuntimeError):
    """Another run holds the output folder."""


def _describe(holder: dict) -> str:
    return (
        f"`{holder.get('stage', '?')}` (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"started {holder.get('started', '?')})"
    )


def _read_holder(descriptor: int) -> dict:
    os.lseek(descriptor, 0, os.SEEK_SET)
    text = os.read(descriptor, 65536).decode("utf-8", errors="replace")
    try:
        holder = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        holder = {}
    return holder if isinstance(holder, dict) else {}


def _acquire(path: Path) -> int:
    """An open descriptor of ``path`` holding its flock; raises ``FolderLocked`` if another run holds it."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(descriptor)
            os.close(descriptor)
            raise FolderLocked(
                f"{path.parent} is in use by {_describe(holder)}; wait for it to finish or stop it "
                "(one run per output folder)"
            ) from None
        with contextlib.suppress(FileNotFoundError):
            if os.fstat(descriptor).st_ino == os.stat(path).st_ino:
                return descriptor
        os.close(descriptor)  # the holder removed the file as we opened it: try the new one


@contextlib.contextmanager
def folder_lock(out_dir: Path, stage: str) -> Iterator[None]:
    """Hold ``out_dir`` for one run of ``stage``; raises ``FolderLocked`` naming the run that holds it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_FILE
    descriptor = _acquire(path)
    try:
        if previous := _read_holder(descriptor):
            log.warning("%s: taking over the lock of %s, which is no longer running", out_dir, _describe(previous))
        holder = {"stage": stage, "pid": os.getpid(), "host": socket.gethostname()}
        holder["started"] = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(holder).encode("utf-8"), 0)
        os.fsync(descriptor)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)  # still holding the lock: nobody can have taken it meanwhile
    finally:
        os.close(descriptor)
