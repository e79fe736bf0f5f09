"""Who may run code on a Ray the project started: a driver holding its token, and nobody else.

Each driver is a fresh Python process that joins the cluster at a GCS address and runs one task. The
stranger has no token: an empty HOME (no ~/.ray/auth_token), no RAY_AUTH_* variables, and so Ray's
default mode; it must get Ray's authentication error, never a result.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

DRIVER = """
import sys
import ray

ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print("task result:", ray.get(ray.remote(num_cpus=0)(lambda: 6 * 7).remote(), timeout=60))
"""
GCS_ADDRESS = re.compile(r"--gcs-address=(\S+):(\d+)")  # on the command line of Ray's monitors


def run_driver(address: str, env: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", DRIVER, address], env=env, capture_output=True, text=True, timeout=timeout_s
    )


def stranger_environment(home: Path) -> dict[str, str]:
    """This machine's environment without any Ray token, and a HOME with nothing in it."""
    home.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if not name.startswith("RAY_")}
    return {**env, "HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"}


def holder_environment(home: Path, token_file: Path) -> dict[str, str]:
    return {**stranger_environment(home), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file)}


def assert_only_token_holders_run_tasks(address: str, token_file: Path, scratch: Path) -> None:
    """A stranger's driver is refused with Ray's authentication error; the token's holder runs a task."""
    stranger = run_driver(address, stranger_environment(scratch / "stranger-home"))
    output = stranger.stdout + stranger.stderr
    assert "task result" not in output, output[-3000:]
    assert stranger.returncode != 0 and "AuthenticationError" in output, output[-3000:]
    assert not (scratch / "stranger-home" / ".ray" / "auth_token").exists()  # refused, not handed a token
    holder = run_driver(address, holder_environment(scratch / "holder-home", token_file))
    assert holder.returncode == 0 and "task result: 42" in holder.stdout, (holder.stdout + holder.stderr)[-3000:]


def gcs_address_of(process: subprocess.Popen, timeout_s: float = 180) -> str:
    """The GCS address of the Ray that ``process`` (or one of its children) started, once it listens."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the process that starts Ray exited with {process.returncode}"
        for child in psutil.Process(process.pid).children(recursive=True):
            try:
                found = GCS_ADDRESS.search(" ".join(child.cmdline()))
            except psutil.Error:
                continue
            if found and _listens(found.group(1), int(found.group(2))):
                return f"{found.group(1)}:{found.group(2)}"
        time.sleep(0.5)
    raise AssertionError("no Ray GCS started in time")


def _listens(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def stop_tree(process: subprocess.Popen) -> None:
    """Stop ``process`` and every process it started (Ray's GCS, raylet and workers included)."""
    try:
        family = [process, *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = [process]
    for member in family:
        try:
            member.kill()
        except (psutil.Error, ProcessLookupError):
            pass
    process.wait(timeout=60)
    psutil.wait_procs([member for member in family[1:]], timeout=30)
