"""Serve the sample web on 127.0.0.1: every ``.test`` host of ``site.json`` from one loopback port.

The fetch stage reaches it through ``--resolve HOST=127.0.0.1:PORT`` pins, so the demo and
the tests crawl many "hosts" without any traffic leaving the machine. Hosts marked
``refuse`` are pinned to a loopback port nobody listens on (connection refused).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

SITE_FILES = {"/robots.txt": "robots_txt", "/.well-known/tdmrep.json": "tdmrep_json"}  # path -> site.json key


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_site(web_dir: Path) -> dict[str, Any]:
    """The hosts of ``site.json``: robots.txt, tdmrep.json, refusal and routes of each."""
    return json.loads((web_dir / "site.json").read_text(encoding="utf-8"))["hosts"]


def build_app(web_dir: Path, site: dict[str, Any]) -> web.Application:
    """An aiohttp app answering each request from ``site`` (see :func:`load_site`) by its Host header."""

    async def answer(request: web.Request) -> web.StreamResponse:
        host = site.get(request.host.split(":", 1)[0].lower())
        if host is None:
            return web.Response(status=421, text="unknown host")
        site_file = SITE_FILES.get(request.path)
        if site_file is not None:
            text = host.get(site_file)
            return web.Response(text=text) if text is not None else web.Response(status=404)
        route = host["routes"].get(request.path_qs) or host["routes"].get(request.path)
        return _respond(route, web_dir)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", answer)
    return app


def _respond(route: dict[str, Any] | None, web_dir: Path) -> web.Response:
    if route is None:
        return web.Response(status=404, text="Not Found")
    headers = {"Location": route["location"]} if "location" in route else {}
    body = (web_dir / route["file"]).read_bytes() if "file" in route else b""
    headers.update((name, value) for name, value in route.get("headers", ()))
    response = web.Response(status=route["status"], body=body, headers=headers)
    response.headers["Content-Type"] = route["content_type"]
    return response


@dataclasses.dataclass(frozen=True, slots=True)
class SampleWeb:
    port: int
    resolve: dict[str, str]  # host -> 127.0.0.1:PORT, for FetchConfig.resolve


@contextmanager
def serve_sample_web(web_dir: Path) -> Iterator[SampleWeb]:
    """Run the sample web in a background thread until the block ends."""
    site = load_site(web_dir)
    port, closed_port = _free_port(), _free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(build_app(web_dir, site), access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, name="sample-web", daemon=True)
    thread.start()
    resolve = {
        host: f"127.0.0.1:{closed_port if description['refuse'] else port}" for host, description in site.items()
    }
    try:
        yield SampleWeb(port, resolve)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
