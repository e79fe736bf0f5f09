"""A hostile web server for the fetch tests: stalls, drips, floods, bombs, loops, lies and fails.

Routes by path; every made-up host name is pinned to it. It records each request (host,
path, arrival time) and the most requests it ever had in flight, per host and in all, so
tests can check from the server's side what the crawler did.
"""

from __future__ import annotations

import asyncio
import dataclasses
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

GIB = 1 << 30
CHUNK = 64 << 10
BOMB_BLOCK = 1 << 20
# A page whose header says utf-8 but whose bytes are Windows-1252 (è, ’, «», €, — all differ in cp1257 or latin-1).
ACCENTED_TEXT = (
    "Le lendemain matin, la pluie avait cessé. Les élèves traversèrent la place du marché où les marchands "
    "déballaient déjà leurs étals : des pêches, des poires et des pâtisseries encore tièdes — à 2 € pièce. "
    "« Ça sent bon », murmura Hélène en s’arrêtant devant la boulangerie."
)
CP1252_HTML = f"<html><head><title>Le marché</title></head><body><p>{ACCENTED_TEXT}</p></body></html>".encode("cp1252")
# A header that lies and a <meta> that tells the truth, on text the detector alone gets wrong.
POLISH_TEXT = (
    "W zeszłym tygodniu rada miasta zdecydowała, że nowa linia tramwajowa połączy dworzec z uniwersytetem. "
    "Mieszkańcy dzielnicy cieszą się, choć niektórzy obawiają się hałasu."
)
CP1250_HTML = (
    f'<html><head><meta charset="windows-1250"><title>Tramwaj</title></head><body><p>{POLISH_TEXT}</p></body></html>'
).encode("cp1250")


def page_html(path: str) -> bytes:
    """The deterministic page served at ``path`` (a few hundred bytes of real HTML)."""
    paragraph = f"<p>This is the page at {path}, served by the hostile test server.</p>\n" * 4
    return f"<!doctype html>\n<html><head><title>{path}</title></head><body>\n{paragraph}</body></html>\n".encode()


def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip stream of ``inflated_bytes`` zeros, built without ever holding them.

    Each 1 MiB block of zeros is deflated with a full flush, which resets the compressor, so
    every block compresses to the same ~1 KB: one block's output is repeated, and only the
    CRC is computed over the zeros (one reused 1 MiB buffer).
    """
    blocks, zeros = inflated_bytes // BOMB_BLOCK, bytes(BOMB_BLOCK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH) == block  # blocks repeat exactly
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (blocks * BOMB_BLOCK) & 0xFFFFFFFF)
    return header + block * blocks + compressor.flush(zlib.Z_FINISH) + trailer


SITE_FILES = frozenset({"/robots.txt", "/.well-known/tdmrep.json"})  # asked once per site, not pages


@dataclasses.dataclass(frozen=True, slots=True)
class Hit:
    host: str
    path: str  # path and query
    arrived: float  # time.monotonic()


class HostileServer:
    """Routes by path; records every request (host, path, arrival) and in-flight counts per host."""

    accented_text, polish_text = ACCENTED_TEXT, POLISH_TEXT  # what /mislabelled/french and .../polish say

    def __init__(self, bomb: bytes) -> None:
        self.bomb = bomb
        self.port = 0
        self.hits: list[Hit] = []
        self.robots: dict[str, tuple[int, str]] = {}  # host -> (status, body or Location); unset: 404
        self.tdmrep: dict[str, tuple[int, str]] = {}  # host -> its /.well-known/tdmrep.json, the same way
        self.served: dict[str, bytes] = {}  # path -> decoded body of every 200 page
        self.in_flight: Counter[str] = Counter()  # page requests (not robots.txt, tdmrep.json) per host
        self.max_in_flight: Counter[str] = Counter()
        self.total_in_flight = self.max_total_in_flight = 0
        self._flaky: Counter[tuple[str, str]] = Counter()

    def url(self, host: str, path: str) -> str:
        return f"http://{host}{path}"

    def pins(self, hosts: set[str]) -> dict[str, str]:
        return {host: f"127.0.0.1:{self.port}" for host in hosts}

    def hits_for(self, host: str, path: str | None = None) -> list[Hit]:
        return [hit for hit in self.hits if hit.host == host and (path is None or hit.path == path)]

    def page_hits(self, host: str) -> list[Hit]:
        return [hit for hit in self.hits_for(host) if hit.path not in SITE_FILES]

    def body_of(self, url: str) -> bytes:
        parts = urlsplit(url)
        return self.served[parts.path + (f"?{parts.query}" if parts.query else "")]

    @web.middleware
    async def track(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        host = request.url.host or ""
        self.hits.append(Hit(host, request.path_qs, time.monotonic()))
        page = request.path not in SITE_FILES
        self.total_in_flight += 1
        self.max_total_in_flight = max(self.max_total_in_flight, self.total_in_flight)
        if page:
            self.in_flight[host] += 1
            self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])
        try:
            return await handler(request)
        finally:
            self.total_in_flight -= 1
            if page:
                self.in_flight[host] -= 1

    def page(self, request: web.Request, body: bytes | None = None, **headers: str) -> web.Response:
        body = page_html(request.path_qs) if body is None else body
        self.served[request.path_qs] = body
        return web.Response(body=body, content_type="text/html", charset="utf-8", headers=headers)

    async def robots_txt(self, request: web.Request) -> web.Response:
        return self.site_file(request, self.robots)

    async def tdmrep_json(self, request: web.Request) -> web.Response:
        return self.site_file(request, self.tdmrep)

    def site_file(self, request: web.Request, files: dict[str, tuple[int, str]]) -> web.Response:
        status, text = files.get(request.url.host or "", (404, "not found"))
        headers = {"Location": text} if 300 <= status < 400 else {}  # for a redirect, the text is where to
        return web.Response(status=status, text=text, headers=headers)

    async def plain_page(self, request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("delay", 0)))
        return self.page(request)

    async def gzipped(self, request: web.Request) -> web.Response:
        body = self.served[request.path_qs] = page_html(request.path_qs)
        headers = {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"}
        return web.Response(body=zlib.compress(body, wbits=16 + zlib.MAX_WBITS), headers=headers)

    async def slow_headers(self, request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return self.page(request)

    async def drip(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(40):  # 4 bytes every 0.25 s: never idle for the read timeout, 10 s in all
            await response.write(b"<p>.")
            await asyncio.sleep(0.25)
        return response

    async def truncated(self, request: web.Request) -> web.StreamResponse:
        """Promises 10,000 bytes, sends 100, hangs up."""
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.content_length = 10_000
        await response.prepare(request)
        await response.write(b"<p>" + b"x" * 97)
        assert request.transport is not None
        request.transport.close()
        return response

    async def huge(self, request: web.Request) -> web.StreamResponse:
        """1 GiB of HTML, streamed lazily from one reused chunk (declared length or chunked)."""
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        if request.match_info["kind"] == "declared":
            response.content_length = GIB
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"<p>" + b"x" * (CHUNK - 7) + b"</p>"
        try:
            for _ in range(GIB // CHUNK):
                await response.write(chunk)
        except ConnectionError:
            pass  # the crawler hung up, as it should
        return response

    async def bomb_response(self, request: web.Request) -> web.Response:
        return web.Response(body=self.bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})

    async def loop(self, request: web.Request) -> web.Response:
        other = "b" if request.match_info["side"] == "a" else "a"
        raise web.HTTPFound(f"/redirect/loop-{other}")

    async def chain(self, request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        if left == 0:
            return self.page(request)
        raise web.HTTPFound(f"/redirect/chain/{left - 1}")

    async def redirect_to(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["location"])

    async def binary(self, request: web.Request) -> web.Response:
        body = bytes(range(256)) * 64  # NULs and control bytes, claimed to be HTML
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})

    async def pdf(self, request: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", headers={"Content-Type": "application/pdf"})

    async def mislabelled(self, request: web.Request) -> web.Response:
        body = self.served[request.path_qs] = CP1252_HTML if request.match_info["page"] == "french" else CP1250_HTML
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})

    async def status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="no")

    async def flaky(self, request: web.Request) -> web.Response:
        """``?fail=N&status=S[&retry_after=R]``: the first N requests per host and key get S."""
        key = (request.url.host or "", request.match_info["key"])
        self._flaky[key] += 1
        if self._flaky[key] <= int(request.query["fail"]):
            retry_after = request.query.get("retry_after")
            headers = {"Retry-After": retry_after} if retry_after else {}
            return web.Response(status=int(request.query["status"]), text="try again", headers=headers)
        return self.page(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.track])
        app.router.add_get("/robots.txt", self.robots_txt)
        app.router.add_get("/.well-known/tdmrep.json", self.tdmrep_json)
        app.router.add_get("/page/{name}", self.plain_page)
        app.router.add_get("/gzipped/{name}", self.gzipped)
        app.router.add_get("/slow-headers", self.slow_headers)
        app.router.add_get("/drip", self.drip)
        app.router.add_get("/huge/{kind}", self.huge)
        app.router.add_get("/truncated", self.truncated)
        app.router.add_get("/gzip-bomb", self.bomb_response)
        app.router.add_get("/redirect/loop-{side}", self.loop)
        app.router.add_get("/redirect/chain/{left}", self.chain)
        app.router.add_get("/redirect/to", self.redirect_to)
        app.router.add_get("/binary", self.binary)
        app.router.add_get("/pdf", self.pdf)
        app.router.add_get("/mislabelled/{page}", self.mislabelled)
        app.router.add_get("/status/{code}", self.status)
        app.router.add_get("/flaky/{key}", self.flaky)
        return app


@contextmanager
def serve_hostile_web() -> Iterator[HostileServer]:
    """The hostile server on 127.0.0.1 (a free port) in a background thread, until the block ends."""
    server = HostileServer(gzip_bomb(GIB + BOMB_BLOCK))
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(server.app(), access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    server.port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, name="hostile-web", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
