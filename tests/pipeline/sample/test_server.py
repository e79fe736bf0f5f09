"""The sample web that ``fetch.crawl_sample_web`` serves listens on loopback only (locked by default:
docs/security.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from listening import assert_loopback_only, listening_sockets

from pipeline.sample.server import serve_sample_web


def test_the_sample_web_listens_on_loopback_only(sample: tuple[Path, dict[str, Any]]) -> None:
    """The server runs in this process: the sockets it opened are those listening now and not before it started."""
    directory, _ = sample
    before = set(listening_sockets([os.getpid()]))
    with serve_sample_web(directory / "web") as web:
        opened = set(listening_sockets([os.getpid()])) - before
        response = httpx.get(f"http://127.0.0.1:{web.port}/", headers={"Host": "elsewhere.invalid"}, timeout=5)
    assert response.status_code == 421  # the sample web's answer to a host it does not serve: the socket is its own
    assert_loopback_only(sorted(opened))
    assert {listener.port for listener in opened} == {web.port}
