"""The live fetcher: one URL in, one :class:`FetchResult` out, whatever the server does.

Every response received is archived (redirect hops, error pages, retried 5xx and 429s, and every answer
to a robots.txt or tdmrep.json request, as Common Crawl archives robots.txt); only bodies never read (not
HTML, over the size cap) are left out. A body fetch does not read (a redirect's, an error answer to a site
file) is archived empty and marked truncated.

Redirects are followed by hand so every hop passes the same checks (scheme, SSRF guard,
robots.txt, politeness, loop and length limits). Connection errors, timeouts, 5xx and
429 are retried with exponential backoff and jitter (``Retry-After`` honoured); other
4xx are final. Every failure ends as a counted outcome, never an exception.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import aiohttp

from pipeline.fetch.body import CHUNK_BYTES, BodyRejected, looks_binary, read_capped, read_prefix, settle_charset
from pipeline.fetch.config import FetchConfig
from pipeline.fetch.guard import BlockedHostError, GuardedResolver, UnresolvedHostError, check_literal
from pipeline.fetch.hosts import HostGate
from pipeline.fetch.results import Exchange, FetchResult, PeerResponse, unread_body
from pipeline.fetch.robots import ROBOTS_MAX_BYTES, Clock, RobotsCache, robots_text
from pipeline.fetch.tdmrep import TDMREP_MAX_BYTES, TdmFileCache
from pipeline.net import backoff_delay

log = logging.getLogger(__name__)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
ROBOTS_REDIRECTS = 5  # RFC 9309 §2.3.1.2: at least five followed; past them, no robots.txt


class _Retryable(Exception):
    """A failure worth another attempt; ``outcome`` is what it becomes if attempts run out."""

    def __init__(self, outcome: str, retry_after_s: float | None = None) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.retry_after_s = retry_after_s


class _Final(Exception):
    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


def _retry_after(headers: aiohttp.typedefs.LooseHeaders) -> float | None:
    try:
        return max(0.0, float(headers.get("Retry-After", "")))  # type: ignore[union-attr]
    except ValueError:
        return None


def _connection_outcome(error: aiohttp.ClientConnectorError) -> Exception:
    cause = error.os_error
    if isinstance(cause, BlockedHostError):
        return _Final("ssrf_blocked")
    if isinstance(cause, UnresolvedHostError):
        return _Final("dns_error")
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return _Retryable("dns_error")
    if isinstance(cause, ConnectionRefusedError):
        return _Retryable("connection_refused")
    return _Retryable("connection_error")


def _transport_outcome(error: aiohttp.ClientError | TimeoutError) -> Exception:
    """The outcome of a request that got no HTTP answer: refused, blocked, timed out, or cut off."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return _connection_outcome(error)
    if isinstance(error, TimeoutError):
        return _Retryable("timeout")
    return _Retryable("connection_error")  # disconnected, broken chunked body, bad headers


class HttpFetcher:
    """Fetches over HTTP(S) with aiohttp; one instance per run, shared by all concurrent tasks."""

    def __init__(
        self,
        cfg: FetchConfig,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self._sleep = sleep
        resolver = GuardedResolver(cfg.resolve, cfg.allow_private, cfg.resolve_only)
        connector = aiohttp.TCPConnector(limit=cfg.concurrency, resolver=resolver, ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(
            total=cfg.total_timeout_s, sock_connect=cfg.connect_timeout_s, sock_read=cfg.read_timeout_s
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            response_class=PeerResponse,
            headers={"User-Agent": cfg.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self._robots = RobotsCache(
            self._get_text, cfg.robots_token, cfg.ai_optout_tokens, cfg.robots_ttl_s, cfg.robots_retry_s, clock
        )
        if not cfg.ai_optout_tokens:
            why = "respect_ai_optouts is false or ai_optout_agents empty" if cfg.respect_robots else "respect_robots"
            log.warning("fetch: robots.txt AI-training opt-outs are NOT honoured (%s)", why)
        if not cfg.read_tdmrep_file:
            log.warning("fetch: TDMRep site files (/.well-known/tdmrep.json) are NOT read (read_tdmrep_file is false)")
        self._tdm_files = TdmFileCache(self._get_tdm_file, cfg.robots_ttl_s, cfg.robots_retry_s, clock)
        self._hosts = HostGate(cfg.per_host_concurrency, cfg.per_host_delay_s, cfg.circuit_breaker_failures)
        self._rng = random.Random()
        self._site_file_exchanges: list[Exchange] = []  # robots.txt, tdmrep.json answers not yet handed to a result

    async def close(self) -> None:
        await self._session.close()

    async def fetch(self, url: str) -> FetchResult:
        """Follow ``url`` to its final response (or the reason there is none)."""
        result = FetchResult(url=url, outcome="pending")
        seen: set[str] = set()
        current: str | None = url
        while current is not None:
            if current in seen:
                result.outcome = "redirect_loop"
                break
            if len(seen) > self.cfg.max_redirects:
                result.outcome = "too_many_redirects"
                break
            seen.add(current)
            current = await self._hop_with_retries(current, result)
        if result.outcome == "ok" and result.final_url and self.cfg.read_tdmrep_file:
            result.tdm_file_reservation = await self._tdm_files.reservation(result.final_url)
        # robots.txt and tdmrep.json answers received meanwhile (for any origin) go to the archive with this URL's batch
        result.site_file_exchanges, self._site_file_exchanges = self._site_file_exchanges, []
        return result

    async def _hop_with_retries(self, url: str, result: FetchResult) -> str | None:
        """One hop; returns the next URL for a redirect, else ``None`` with ``result`` filled in."""
        host = (urlsplit(url).hostname or "").lower()
        for attempt in range(self.cfg.max_retries + 1):
            result.attempts += 1
            try:
                return await self._hop(url, host, result)
            except _Final as final:
                # A retry stopped by a breaker that opened meanwhile keeps the failure this URL saw itself.
                if not (final.outcome == "host_unreachable" and attempt > 0):
                    result.outcome = final.outcome
                return None
            except _Retryable as retryable:
                result.outcome = retryable.outcome
                if attempt == self.cfg.max_retries or self._hosts.is_open(host):
                    return None
                delay = backoff_delay(attempt, self.cfg.backoff_base_s, self.cfg.backoff_cap_s, self._rng)
                if retryable.retry_after_s is not None:
                    delay = min(retryable.retry_after_s, self.cfg.max_retry_after_s)
                await self._sleep(delay)
        return None

    async def _hop(self, url: str, host: str, result: FetchResult) -> str | None:
        await self._check(url, host)
        delay = await self._robots.crawl_delay(url) if self.cfg.respect_robots else 0.0
        async with self._hosts.slot(host, delay):
            if self._hosts.is_open(host):  # the breaker opened while this request waited for a slot
                raise _Final("host_unreachable")
            try:
                return await self._request(url, host, result)
            except (aiohttp.ClientError, TimeoutError) as error:
                self._hosts.record(host, reachable=False)
                raise _transport_outcome(error) from error

    async def _check(self, url: str, host: str) -> None:
        """Everything decided before any byte is sent for this hop."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise _Final("bad_redirect")
        try:
            check_literal(url, self.cfg.allow_private)
        except BlockedHostError as error:
            raise _Final("ssrf_blocked") from error
        if self._hosts.is_open(host):
            raise _Final("host_unreachable")
        if self.cfg.respect_robots and (refusal := await self._robots_refusal(url)):
            raise _Final(refusal)

    async def _robots_refusal(self, url: str) -> str | None:
        try:
            return await self._robots.refusal(url)
        except BlockedHostError as error:  # robots.txt redirected to a private IP literal
            raise _Final("ssrf_blocked") from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _transport_outcome(error) from error

    async def _request(self, url: str, host: str, result: FetchResult) -> str | None:
        fetched_at = datetime.now(UTC)
        async with self._session.get(url, allow_redirects=False) as response:
            self._hosts.record(host, reachable=True)
            status = response.status
            if status in RETRYABLE_STATUS:
                result.final_url, result.status = url, status
                await self._archive_error(url, response, result, fetched_at)
                raise _Retryable(f"http_{status}", _retry_after(response.headers))
            location = response.headers.get("Location")
            if status in REDIRECTS and location:
                result.exchanges.append(Exchange.of(url, response, b"", fetched_at, unread_body(response)))
                return urljoin(url, location)
            return await self._final_response(url, response, result, fetched_at)

    async def _final_response(
        self, url: str, response: aiohttp.ClientResponse, result: FetchResult, fetched_at: datetime
    ) -> None:
        result.final_url, result.status = url, response.status
        result.content_type = response.headers.get("Content-Type")
        if response.status >= 400:
            await self._archive_error(url, response, result, fetched_at)
            raise _Final(f"http_{response.status}")
        if response.content_type not in self.cfg.content_types:
            raise _Final("not_html")
        declared = response.content_length
        if declared is not None and declared > self.cfg.max_bytes:
            raise _Final("too_large")
        encoding = response.headers.get("Content-Encoding", "")
        try:
            raw, body = await read_capped(response.content.iter_chunked(1 << 16), encoding, self.cfg.max_bytes)
        except BodyRejected as rejected:
            raise _Final(rejected.reason) from rejected
        if looks_binary(body):
            raise _Final("not_text")
        result.charset = settle_charset(result.content_type, body)
        result.bytes = len(body)
        result.exchanges.append(Exchange.of(url, response, raw, fetched_at))
        result.outcome = "ok"

    async def _archive_error(
        self, url: str, response: aiohttp.ClientResponse, result: FetchResult, fetched_at: datetime
    ) -> None:
        """Keep an error response (4xx, 5xx, 429) in the archive too, body capped; an oversized one is skipped."""
        encoding = response.headers.get("Content-Encoding", "")
        try:
            raw, _ = await read_capped(response.content.iter_chunked(1 << 16), encoding, self.cfg.max_bytes)
        except BodyRejected:
            return
        result.exchanges.append(Exchange.of(url, response, raw, fetched_at))

    async def _get_text(self, url: str) -> tuple[int, str | None]:
        """robots.txt fetch; failing to reach the host counts toward its circuit breaker, as a page would."""
        try:
            status, body, complete = await self._get_site_file(url, ROBOTS_MAX_BYTES)
        except (TimeoutError, aiohttp.ClientError):
            self._hosts.record((urlsplit(url).hostname or "").lower(), reachable=False)
            raise
        return status, None if body is None else robots_text(body, complete)

    async def _get_tdm_file(self, url: str) -> tuple[int, bytes | None]:
        """tdmrep.json fetch: the whole file or, when it is larger than any rules file, None (unread)."""
        status, body, complete = await self._get_site_file(url, TDMREP_MAX_BYTES)
        return status, body if complete else None

    async def _get_site_file(self, url: str, max_bytes: int) -> tuple[int, bytes | None, bool]:
        """A site-wide file (robots.txt, tdmrep.json): same guard and session, no politeness slot, checked
        redirects, the first ``max_bytes``. Returns (status, body, whether the body is whole).

        Every answer is kept for the archive (``_site_file_exchanges``), redirect hops too.
        """
        for _ in range(ROBOTS_REDIRECTS + 1):
            check_literal(url, self.cfg.allow_private)
            fetched_at = datetime.now(UTC)
            async with self._session.get(url, allow_redirects=False) as response:
                body, raw, complete = await _site_file_body(response, max_bytes)
                truncated = None if complete else unread_body(response)
                self._site_file_exchanges.append(Exchange.of(url, response, raw, fetched_at, truncated))
                location = response.headers.get("Location")
                if response.status in REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                return response.status, body, complete
        return 404, b"", True  # a redirect chain: treated as no file, as RFC 9309 allows after 5 hops


async def _site_file_body(response: aiohttp.ClientResponse, max_bytes: int) -> tuple[bytes | None, bytes, bool]:
    """(the first ``max_bytes`` decoded, raw bytes read, whether they are the whole body) of a site file's answer.
    A redirect's or an error answer's body is not read (it is empty); one in an encoding never asked for is ``None``
    (unreadable)."""
    if response.status >= 400 or (response.status in REDIRECTS and response.headers.get("Location")):
        return b"", b"", False
    encoding = response.headers.get("Content-Encoding", "")
    try:
        raw, body, complete = await read_prefix(response.content.iter_chunked(CHUNK_BYTES), encoding, max_bytes)
    except BodyRejected:
        return None, b"", False
    return body, raw, complete
