"""The temporary Prefect server that ``make demo`` starts listens on loopback only (DESIGN.md: locked by default)."""

from __future__ import annotations

from pathlib import Path

import httpx
from listening import assert_loopback_only, server_tree_listeners

from flows.local_server import free_port, local_prefect_server


def test_the_demo_server_and_its_workers_listen_on_loopback_only(tmp_path: Path) -> None:
    """The demo's settings (UI on) but a throwaway ``PREFECT_HOME``, so the test leaves no database behind."""
    port = free_port()
    with local_prefect_server(port=port, env={"PREFECT_HOME": str(tmp_path)}, log_path=tmp_path / "server.log") as api:
        assert httpx.get(f"{api}/health", timeout=5).json() is True
        listeners = server_tree_listeners(port)
        assert_loopback_only(listeners)
    assert port in {listener.port for listener in listeners}  # what was checked includes the server
