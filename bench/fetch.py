"""Fetch throughput, open sockets and memory, against a plain aiohttp loop measured in the same run.

Speed: pages/s of the whole fetch stage (URL shard in; robots.txt, SSRF guard, politeness,
retries, body caps, charset, WARC and pages index out) over N URLs spread across 200
made-up host names, all pinned to one loopback aiohttp server. The server runs in its own
process (so its CPU does not share the crawler's GIL), sleeps 50 ms before every response
and serves 10-20 KB HTML pages; each host has a robots.txt that allows the pages. The stage
runs with ``FetchConfig`` defaults except ``resolve``/``resolve_only`` (the pins) and
``per_host_delay_s=0`` (the default 0.5 s politeness delay would measure the delay, not the
crawler). Baseline: one ``aiohttp.ClientSession`` with the same connection limit and
``asyncio.gather`` under a semaphore of the same concurrency, reading every body and doing
nothing else. Goal: >= 1,000 pages/s on 2 cores (the OpenWebText scraper did ~59/s on 8 threads).

Sockets and memory: each run happens in a fresh process, where a thread samples every
100 ms the open sockets (entries of /proc/self/fd that are sockets) and the resident memory
(VmRSS); the peaks are reported.

    python bench/fetch.py [--pages 5000] [--hosts 200] [--latency-ms 50] [--repeats 1]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from pipeline.fetch.config import FetchConfig
from pipeline.fetch.stage import run_fetch
from pipeline.records import UrlRecord, to_table
from pipeline.shards import shard_name, write_shard

WORDS = (
    "the city council voted on a plan to extend the tram line across the river while residents asked about noise "
    "costs schedules and the new station near the university library market square harbour and old town"
).split()
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
TIMINGS = ("seconds", "sockets", "rss_mb")


def make_pages(count: int, seed: int = 7) -> list[bytes]:
    """``count`` distinct HTML pages of 10-20 KB of plain prose."""
    rng = random.Random(seed)
    pages = []
    for index in range(count):
        target = rng.randrange(10_000, 20_000)
        paragraphs, size = [], 0
        while size < target:
            paragraph = "<p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randrange(40, 120))) + ".</p>\n"
            paragraphs.append(paragraph)
            size += len(paragraph)
        head = f"<!doctype html>\n<html><head><meta charset=utf-8><title>Story {index}</title></head><body>\n"
        pages.append((head + "".join(paragraphs) + "</body></html>\n").encode())
    return pages


def serve(port_out: Connection, latency_s: float) -> None:
    """The server process: answer every page after ``latency_s``, until terminated."""
    pages = make_pages(64)

    async def page(request: web.Request) -> web.Response:
        await asyncio.sleep(latency_s)
        body = pages[hash(request.path) % len(pages)]
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text=ROBOTS_TXT)

    async def run_server() -> None:
        app = web.Application()
        app.router.add_get("/robots.txt", robots)
        app.router.add_get("/{tail:.*}", page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=4096).start()
        port_out.send(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(run_server())


class Sampler:
    """Peak open sockets and resident memory of this process, sampled every 100 ms from a thread."""

    def __init__(self) -> None:
        self.peak_sockets = self.peak_rss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def _sample(self) -> None:
        sockets = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
            except OSError:
                continue  # closed between listing and reading
        with open("/proc/self/status", encoding="ascii") as status:
            rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        self.peak_sockets = max(self.peak_sockets, sockets)
        self.peak_rss_kb = max(self.peak_rss_kb, rss_kb)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def __enter__(self) -> Sampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


class PinnedResolver(AbstractResolver):
    """The baseline's resolver: every host name is 127.0.0.1:PORT (what the stage's pins do)."""

    def __init__(self, port: int) -> None:
        self._port = port

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answer = ResolveResult(
            hostname=host, host="127.0.0.1", port=self._port, family=socket.AF_INET, proto=0, flags=0
        )
        return [answer]

    async def close(self) -> None:
        return None


async def plain_aiohttp_loop(urls: list[str], port: int, concurrency: int) -> None:
    """The baseline: GET every URL and read its body; nothing is checked, parsed or stored."""
    slots = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency, resolver=PinnedResolver(port))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(url: str) -> None:
            async with slots, session.get(url) as response:
                await response.read()

        await asyncio.gather(*(one(url) for url in urls))


def make_urls(pages: int, hosts: int) -> list[str]:
    """Pages spread round-robin over ``hosts`` made-up host names (``site000.test`` ...)."""
    return [f"http://site{index % hosts:03d}.test/{2019 + index % 3}/story-{index}.html" for index in range(pages)]


def write_url_shard(urls_dir: Path, urls: list[str]) -> None:
    seen = datetime(2019, 1, 1, tzinfo=UTC)
    records = [UrlRecord(url, url.split("/")[2], 3, 1, seen, ["news"], [f"b{i}"]) for i, url in enumerate(urls)]
    write_shard(to_table(records, UrlRecord), urls_dir / shard_name(0), shard_fingerprint="bench-fetch")


def measure(kind: str, urls: list[str], cfg: FetchConfig, port: int, urls_dir: Path, out_dir: Path) -> dict[str, Any]:
    """One timed run in this (fresh) process: seconds, peak sockets and RSS, and the stage's outcomes."""
    outcomes: dict[str, int] = {}
    with Sampler() as sampler:
        started = time.perf_counter()
        if kind == "stage":
            outcomes = run_fetch(urls_dir, out_dir, cfg).outcomes
        else:
            asyncio.run(plain_aiohttp_loop(urls, port, cfg.concurrency))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "sockets": sampler.peak_sockets, "rss_mb": sampler.peak_rss_kb / 1024, **outcomes}


def measure_in_child(context: Any, *args: Any) -> dict[str, Any]:
    """``measure`` in a fresh process, so neither run's memory or sockets count toward the other's."""
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(measure, *args).result()


def report(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]]) -> None:
    best = {kind: min(results, key=lambda result: result["seconds"]) for kind, results in runs.items()}
    rate = {kind: args.pages / result["seconds"] for kind, result in best.items()}
    for kind, label in (("baseline", "baseline aiohttp loop:"), ("stage", "fetch stage:          ")):
        result = best[kind]
        print(
            f"{label} {rate[kind]:8,.0f} pages/s ({result['seconds']:.2f} s); "
            f"peak open sockets {result['sockets']}, peak RSS {result['rss_mb']:.0f} MB"
        )
    print(f"stage outcomes: { {key: value for key, value in best['stage'].items() if key not in TIMINGS} }")
    print(
        f"speed ratio stage/baseline: {rate['stage'] / rate['baseline']:.2f}x "
        f"(goal: >= 1,000 pages/s; the OpenWebText scraper did ~59/s on 8 threads)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000, help="URLs to fetch")
    parser.add_argument("--hosts", type=int, default=200, help="made-up host names, all pinned to the server")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="server delay before every response")
    parser.add_argument("--repeats", type=int, default=1, help="best of N timings")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    port_in, port_out = context.Pipe(duplex=False)
    server = context.Process(target=serve, args=(port_out, args.latency_ms / 1000), name="bench-server", daemon=True)
    server.start()
    try:
        port = port_in.recv()
        urls = make_urls(args.pages, args.hosts)
        pins = {f"site{index:03d}.test": f"127.0.0.1:{port}" for index in range(args.hosts)}
        cfg = FetchConfig(resolve=pins, resolve_only=True, per_host_delay_s=0.0)
        sizes = [len(page) for page in make_pages(64)]
        print(
            f"{args.pages:,} pages across {args.hosts} hosts, {min(sizes) // 1000}-{max(sizes) // 1000} KB each; "
            f"server in its own process adds {args.latency_ms:.0f} ms per response; {os.cpu_count()} cores"
        )
        print(
            f"stage config: FetchConfig defaults (concurrency {cfg.concurrency}, per_host_concurrency "
            f"{cfg.per_host_concurrency}, batch_size {cfg.batch_size}, robots.txt respected) "
            "except resolve/resolve_only and per_host_delay_s=0"
        )
        with tempfile.TemporaryDirectory(prefix="bench-fetch-") as scratch:
            directory = Path(scratch)
            write_url_shard(directory / "urls", urls)
            runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "stage": []}
            for attempt in range(args.repeats):
                for kind, results in runs.items():
                    out = directory / f"{kind}{attempt}"
                    results.append(measure_in_child(context, kind, urls, cfg, port, directory / "urls", out))
        report(args, runs)
    finally:
        server.terminate()
        server.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
