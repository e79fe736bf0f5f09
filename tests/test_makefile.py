"""``make mlflow-ui`` serves MLflow on loopback only (docs/security.md: locked by default), run as a user runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from listening import assert_loopback_only, tree_listeners

from flows.local_server import free_port, stop_process_group

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 90.0  # the UI answers after ~20 s here


def wait_until_answering(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {STARTUP_TIMEOUT_S:.0f}s (exit status {process.poll()}):\n{log.read_text()}")


@pytest.mark.skipif(shutil.which("make") is None, reason="`make` is not installed")
def test_mlflow_ui_listens_on_loopback_only(tmp_path: Path) -> None:
    """The whole tree make starts (mlflow, its server and workers) is checked, not only the port asked for.
    ``-o venv`` keeps make from reinstalling the environment this test already runs in."""
    port, log = free_port(), tmp_path / "mlflow-ui.log"
    command = ["make", "-o", "venv", "mlflow-ui", f"VENV={sys.prefix}", f"MLFLOW_DB={tmp_path / 'mlflow.db'}"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, f"MLFLOW_PORT={port}"],
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/health", process, log)
        listeners = tree_listeners(process.pid)
        assert_loopback_only(listeners)
        assert port in {listener.port for listener in listeners}  # what was checked includes the server
    finally:
        stop_process_group(process)
