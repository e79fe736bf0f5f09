"""Fixtures for the fetch tests: the hostile web server, a network fence, a stage runner.

Every host name a test crawls is made up and pinned to the one loopback server with
``FetchConfig.resolve`` (``resolve_only``, so DNS is never asked). The fence refuses, and
records, any connect to an address other than 127.0.0.1 and any DNS lookup, so a guard
that let a private address through fails the test instead of sending a packet.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pipeline.fetch.config import FetchConfig
from pipeline.fetch.results import Fetcher
from pipeline.fetch.stage import run_fetch
from pipeline.fetch.warc import read_response
from pipeline.records import FetchRecord, UrlRecord, to_table
from pipeline.shards import shard_name, write_shard
from pipeline.stage import StageSummary

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # so the server module beside this file imports by name
    sys.path.insert(0, HERE)

from fetch_helpers import TEST_CONFIG, read_pages  # noqa: E402
from fetch_hostile_web import HostileServer, serve_hostile_web  # noqa: E402


@pytest.fixture(scope="session")
def hostile() -> Iterator[HostileServer]:
    """The hostile server, on 127.0.0.1 in a background thread for the whole session."""
    with serve_hostile_web() as server:
        yield server


@dataclasses.dataclass
class Fence:
    """Connects and DNS lookups the process attempted while a test ran."""

    connects: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    lookups: list[str] = dataclasses.field(default_factory=list)


@pytest.fixture(autouse=True)
def fence(monkeypatch: pytest.MonkeyPatch) -> Fence:
    """Refuse (and record) any TCP connect outside 127.0.0.1 and any DNS lookup of a name."""
    seen = Fence()
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            seen.connects.append((address[0], address[1]))
            if address[0] != "127.0.0.1":
                raise PermissionError(f"test fence: refused a connect to {address}")
        real_connect(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (None, "127.0.0.1", b"127.0.0.1"):
            seen.lookups.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"test fence: no DNS for {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen


class RecordingSleep:
    """An injectable ``sleep`` that records the delays asked for and does not wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


def write_urls(urls_dir: Path, urls: list[str]) -> None:
    """A harvest-style input: one complete URL shard of ``UrlRecord`` rows.

    Karma and first_seen differ from URL to URL, so a row given another URL's fields shows.
    """
    first_seen = datetime(2019, 1, 1, tzinfo=UTC)
    records = [
        UrlRecord(
            url,
            urlsplit(url).hostname or "",
            3 + index,
            1,
            first_seen + timedelta(hours=index, microseconds=index),
            ["test"],
            [f"t{index}"],
        )
        for index, url in enumerate(urls)
    ]
    write_shard(to_table(records, UrlRecord), urls_dir / shard_name(0), shard_fingerprint="fetch-tests")


@dataclasses.dataclass
class Crawl:
    out: Path
    summary: StageSummary
    pages: dict[str, FetchRecord]

    def outcomes(self) -> dict[str, str]:
        return {url: record.outcome for url, record in self.pages.items()}


def assert_archived(crawl: Crawl, server: HostileServer) -> None:
    """Every ``ok`` row points at a WARC response record holding exactly the body that was served.

    An HTTP error row points at its archived error response (same status); other rows at nothing.
    """
    for record in crawl.pages.values():
        if record.outcome.startswith("http_") and record.warc_file is not None:
            status, _, _ = read_response(crawl.out / record.warc_file, record.warc_offset)
            assert f"http_{status}" == record.outcome == f"http_{record.status}", record.url
            continue
        if record.outcome != "ok":
            assert record.warc_file is None and record.warc_offset is None
            continue
        assert record.warc_file is not None and record.warc_offset is not None and record.final_url is not None
        status, _, body = read_response(crawl.out / record.warc_file, record.warc_offset)
        assert (status, body) == (200, server.body_of(record.final_url)), record.url
        assert record.bytes == len(body)


class StageRunner:
    """Runs the real fetch stage over URLs whose hosts are pinned to the hostile server.

    ``pins`` adds or overrides pins; ``make_fetcher`` swaps the fetcher; other keywords are
    ``FetchConfig`` fields over :data:`TEST_CONFIG`. Each ``out`` name gets its own URL and
    output directories, so a rerun with the same name resumes.
    """

    def __init__(self, server: HostileServer, root: Path) -> None:
        self.server = server
        self.root = root

    def config(self, urls: list[str], pins: dict[str, str] | None = None, **overrides: Any) -> FetchConfig:
        resolve = {**self.server.pins({urlsplit(url).hostname or "" for url in urls}), **(pins or {})}
        return FetchConfig(**{**TEST_CONFIG, "resolve": resolve, **overrides})

    def write_urls(self, urls: list[str], out: str) -> Path:
        urls_dir = self.root / f"{out}-urls"
        if not urls_dir.exists():
            write_urls(urls_dir, urls)
        return urls_dir

    def __call__(
        self,
        urls: list[str],
        *,
        out: str = "out",
        pins: dict[str, str] | None = None,
        make_fetcher: Callable[[FetchConfig], Fetcher] | None = None,
        **overrides: Any,
    ) -> Crawl:
        urls_dir = self.write_urls(urls, out)
        extra = {"make_fetcher": make_fetcher} if make_fetcher is not None else {}
        summary = run_fetch(urls_dir, self.root / out, self.config(urls, pins, **overrides), **extra)
        result = Crawl(self.root / out, summary, read_pages(self.root / out))
        assert set(result.pages) == set(urls)
        assert_archived(result, self.server)
        return result


@pytest.fixture
def crawl(hostile: HostileServer, tmp_path: Path) -> StageRunner:
    return StageRunner(hostile, tmp_path)
