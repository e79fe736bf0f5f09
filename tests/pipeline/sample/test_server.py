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


def test_the_press_agency_opts_out_every_way_a_site_can(sample: tuple[Path, dict[str, Any]]) -> None:
    """The demo's opt-outs: an AI crawler's robots.txt group, TDMRep's site file and header, robots noai."""
    directory, manifest = sample
    press = {url: outcome for url, outcome in manifest["expected"]["fetch"].items() if "press.webtext.test" in url}
    assert sorted(press.values()) == ["ok", "ok", "ok", "robots_ai_optout"]
    with serve_sample_web(directory / "web") as web:

        def get(path: str) -> httpx.Response:
            headers = {"Host": "press.webtext.test"}
            return httpx.get(f"http://127.0.0.1:{web.port}{path}", headers=headers, timeout=5)

        assert "User-agent: GPTBot\nDisallow: /wire/" in get("/robots.txt").text
        assert get("/.well-known/tdmrep.json").json()[0] == {
            "location": "/licensed/",
            "tdm-reservation": 1,
            "tdm-policy": "http://press.webtext.test/tdm-policy",
        }
        pages = {url.split("press.webtext.test", 1)[1] for url in press}
        feature = get(next(path for path in pages if path.startswith("/features/")))
        opinion = get(next(path for path in pages if path.startswith("/opinion/")))
    assert feature.headers["TDM-Reservation"] == "1"
    assert '<meta name="robots" content="index, follow, noai, noimageai">' in opinion.text
