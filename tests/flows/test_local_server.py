"""The temporary Prefect server that ``make demo`` starts listens on loopback only (locked by default:
docs/security.md), and dies with the process that started it, even a SIGKILLed one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
from listening import assert_loopback_only, server_tree_listeners

from flows.local_server import free_port, is_healthy, local_prefect_server

ROOT = Path(__file__).resolve().parents[2]
# Starts the server as make demo does, says where it is, and waits to be killed.
STARTER = """
import sys, time
from pathlib import Path
from flows.local_server import local_prefect_server

home = Path(sys.argv[1])
with local_prefect_server(env={"PREFECT_HOME": str(home)}, log_path=home / "server.log") as api_url:
    print(api_url, flush=True)
    time.sleep(600)
"""


def test_the_demo_server_and_its_workers_listen_on_loopback_only(tmp_path: Path) -> None:
    """The demo's settings (UI on) but a throwaway ``PREFECT_HOME``, so the test leaves no database behind."""
    port = free_port()
    with local_prefect_server(port=port, env={"PREFECT_HOME": str(tmp_path)}, log_path=tmp_path / "server.log") as api:
        assert httpx.get(f"{api}/health", timeout=5).json() is True
        listeners = server_tree_listeners(port)
        assert_loopback_only(listeners)
    assert port in {listener.port for listener in listeners}  # what was checked includes the server


def test_the_server_dies_with_the_process_that_started_it_even_when_sigkilled(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        api_url = starter.stdout.readline().strip() if starter.stdout else ""  # once the server answers
        assert is_healthy(api_url), (tmp_path / "server.log").read_text(errors="replace")[-3000:]
        started = psutil.Process(starter.pid).children(recursive=True)  # the watch, the server, its workers
        assert len(started) >= 2, started
    finally:
        starter.kill()  # no `with` block ends, no finally runs: only the watch can stop the server now
        starter.wait()
    _, alive = psutil.wait_procs(started, timeout=10)
    assert not alive, f"left running 10 s after their starter was killed: {alive}"
    assert not is_healthy(api_url)
