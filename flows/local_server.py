"""Start and stop a real local Prefect server (SQLite) for the demo and the end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

STARTUP_TIMEOUT_S = 180.0
PARENT_WATCH = Path(__file__).with_name("parent_watch.py")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def is_healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def prefect_executable() -> str:
    """The ``prefect`` CLI of this interpreter's environment."""
    return str(Path(sys.executable).with_name("prefect"))


@contextmanager
def local_prefect_server(
    port: int | None = None, env: Mapping[str, str] | None = None, log_path: Path | None = None
) -> Iterator[str]:
    """Run ``prefect server start`` on 127.0.0.1 until the block ends; yields its API URL. The server runs under
    ``parent_watch``: if this process dies without ending the block (SIGKILL), the server and its workers follow
    within a second or so, never left running for someone to find."""
    port = port or free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    server = [prefect_executable(), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(  # watched: the server goes when this process goes, even SIGKILLed
        [sys.executable, str(PARENT_WATCH), "--", *server],
        env={**os.environ, **(env or {}), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not is_healthy(api_url):
            if process.poll() is not None:
                raise RuntimeError(f"prefect server exited with status {process.returncode} (log: {log_path})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"prefect server not healthy after {STARTUP_TIMEOUT_S:.0f}s (log: {log_path})")
            time.sleep(0.5)
        yield api_url
    finally:
        stop_process_group(process)
        if log_path:
            log.close()  # type: ignore[union-attr]


def stop_process_group(process: subprocess.Popen, timeout_s: float = 20.0) -> None:
    """SIGTERM the process and its children, then SIGKILL whatever is left."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
