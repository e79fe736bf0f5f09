"""Nightly increments from the Reddit API, behind the same source interface as a dump.

Application-only OAuth (client credentials) from environment variables, the ``new``
listing of each configured subreddit paged with ``after`` until the window start, and
Reddit's rate-limit headers honoured. A fetched increment is first archived as a
``.ndjson.zst`` snapshot (see :func:`snapshot`), so the harvest scans it like any dump
and a rerun never calls the API again for the same night.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import zstandard

from pipeline.harvest.config import parse_utc
from pipeline.harvest.dumps import DumpSource
from pipeline.net import backoff_delay, check_public_url
from pipeline.progress import Advance
from pipeline.settings import setting
from pipeline.shards import commit

ENV_CLIENT_ID = "REDDIT_CLIENT_ID"
ENV_CLIENT_SECRET = "REDDIT_CLIENT_SECRET"
ENV_USER_AGENT = "REDDIT_USER_AGENT"
DEFAULT_USER_AGENT = "python:webtext-harvest:0.1 (WebText-style link harvest)"
LOW_REMAINING = 10
DEFAULT_API_BASE = "https://oauth.reddit.com"
DEFAULT_AUTH_URL = "https://www.reddit.com/api/v1/access_token"


class RedditApiError(RuntimeError):
    """The API refused a request for a reason retrying will not fix (bad credentials, 403, 404)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RedditCredentials:
    client_id: str
    client_secret: str
    user_agent: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RedditCredentials:
        """Credentials from the environment only: never from config files that get committed."""
        missing = [name for name in (ENV_CLIENT_ID, ENV_CLIENT_SECRET) if not environ.get(name)]
        if missing:
            raise RedditApiError(f"set {' and '.join(missing)} to use the Reddit API source")
        user_agent = environ.get(ENV_USER_AGENT) or DEFAULT_USER_AGENT
        return cls(environ[ENV_CLIENT_ID], environ[ENV_CLIENT_SECRET], user_agent)


@dataclasses.dataclass(frozen=True, slots=True)
class RedditApiConfig:
    """Which listings to page through and how patiently."""

    subreddits: tuple[str, ...] = setting(("all",), flag="subreddit", help="subreddits whose new submissions to page")
    api_base: str = setting(DEFAULT_API_BASE, flag="api-base", help="API base URL")
    auth_url: str = setting(DEFAULT_AUTH_URL, flag="auth-url", help="OAuth token URL")
    since: datetime | None = setting(None, flag="since", help="stop paging at submissions older than this UTC time")
    max_pages: int = setting(10, flag="max-pages", help="pages per subreddit")
    overlap_hours: float = setting(
        24.0, flag="overlap-hours", help="page this far behind the last snapshot's newest post (karma still grows)"
    )
    page_size: int = setting(100, flag="page-size", help="submissions per page (Reddit allows at most 100)")
    timeout_s: float = setting(30.0, flag="api-timeout", help="seconds per API request")
    max_retries: int = setting(5, flag="api-retries", help="retries of a failed API request")
    allow_private: bool = setting(
        False, flag="allow-private", help="allow API URLs on private or loopback addresses (tests)"
    )

    def __post_init__(self) -> None:
        if not self.subreddits or any(not name or "/" in name for name in self.subreddits):
            raise ValueError(f"subreddits must be bare names like 'all' or 'news', got {self.subreddits!r}")
        if not 1 <= self.page_size <= 100:
            raise ValueError(f"page_size must be between 1 and 100 (Reddit's limit), got {self.page_size}")
        if self.max_pages < 1 or self.max_retries < 0 or self.timeout_s <= 0 or self.overlap_hours < 0:
            raise ValueError("max_pages must be >= 1, max_retries >= 0, timeout_s > 0 and overlap_hours >= 0")
        for field in ("api_base", "auth_url"):
            if not str(getattr(self, field)).startswith(("http://", "https://")):
                raise ValueError(f"{field} must be an http(s) URL, got {getattr(self, field)!r}")
        object.__setattr__(self, "since", parse_utc(self.since, field="since"))


class RedditApiSource:
    """New submissions of the configured subreddits, newest first, as NDJSON lines."""

    def __init__(
        self,
        cfg: RedditApiConfig,
        credentials: RedditCredentials,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not cfg.allow_private:
            check_public_url(cfg.api_base)
            check_public_url(cfg.auth_url)
        self.cfg = cfg
        self.name = f"reddit-api-{'+'.join(cfg.subreddits)}"
        self._credentials = credentials
        self._sleep = sleep
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self.newest_created_utc: float | None = None  # of the submissions paged so far: the next watermark

    def identity(self) -> dict[str, Any]:
        return {"api": self.cfg.api_base, "subreddits": list(self.cfg.subreddits), "since": self.cfg.since}

    def size(self) -> int | None:
        return None

    def lines(self, advance: Advance = lambda position: None) -> Iterator[bytes]:
        with httpx.Client(timeout=self.cfg.timeout_s, headers={"User-Agent": self._credentials.user_agent}) as client:
            fetched = 0
            for subreddit in self.cfg.subreddits:
                for child in self._listing(client, subreddit):
                    fetched += 1
                    advance(fetched)
                    yield msgspec.json.encode(child) + b"\n"

    def chunks(self, advance: Advance = lambda position: None) -> Iterator[bytes]:
        """The listing as one block per page, like a dump's blocks."""
        page: list[bytes] = []
        for line in self.lines(advance):
            page.append(line)
            if len(page) == self.cfg.page_size:
                yield b"".join(page)
                page = []
        if page:
            yield b"".join(page)

    def _listing(self, client: httpx.Client, subreddit: str) -> Iterator[dict[str, Any]]:
        since = self.cfg.since.timestamp() if self.cfg.since else None
        after: str | None = None
        for _ in range(self.cfg.max_pages):
            params = {"limit": str(self.cfg.page_size), "raw_json": "1", **({"after": after} if after else {})}
            data = self._get_json(client, f"{self.cfg.api_base.rstrip('/')}/r/{subreddit}/new", params)["data"]
            for child in data.get("children", []):
                post = child.get("data", {})
                created = float(post.get("created_utc", 0))
                if since is not None and created < since:
                    return
                self.newest_created_utc = max(created, self.newest_created_utc or created)
                yield post
            after = data.get("after")
            if not after:
                return

    def _authorise(self, client: httpx.Client) -> str:
        if self._token is None or self._clock() >= self._token_expires:
            response = self._send(
                client,
                "POST",
                self.cfg.auth_url,
                auth=(self._credentials.client_id, self._credentials.client_secret),
                data={"grant_type": "client_credentials"},
            )
            payload = response.json()
            if "access_token" not in payload:
                raise RedditApiError(f"{self.cfg.auth_url}: no access_token in response: {payload}")
            self._token = payload["access_token"]
            self._token_expires = self._clock() + float(payload.get("expires_in", 3600)) - 60
        return self._token

    def _get_json(self, client: httpx.Client, url: str, params: dict[str, str]) -> dict[str, Any]:
        for _ in range(2):  # a second try after refreshing an expired token
            headers = {"Authorization": f"bearer {self._authorise(client)}"}
            response = self._send(client, "GET", url, params=params, headers=headers, refuse_401=False)
            if response.status_code != 401:
                self._respect_rate_limit(response)
                return response.json()
            self._token = None
        raise RedditApiError(f"{url}: 401 Unauthorized twice; check {ENV_CLIENT_ID}/{ENV_CLIENT_SECRET}")

    def _send(
        self, client: httpx.Client, method: str, url: str, refuse_401: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """One request with retries on connection errors, 5xx and 429; never on other 4xx."""
        for attempt in range(self.cfg.max_retries + 1):
            try:
                response = client.request(method, url, **kwargs)
            except httpx.TransportError as error:
                if attempt == self.cfg.max_retries:
                    raise RedditApiError(f"{method} {url}: {error!r} after {attempt + 1} attempts") from error
                self._sleep(backoff_delay(attempt))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == self.cfg.max_retries:
                    break
                self._sleep(_retry_after(response) or backoff_delay(attempt))
                continue
            if response.status_code >= 400 and (response.status_code != 401 or refuse_401):
                raise RedditApiError(f"{method} {url}: HTTP {response.status_code}: {response.text[:200]}")
            return response
        raise RedditApiError(f"{method} {url}: HTTP {response.status_code} after {attempt + 1} attempts")

    def _respect_rate_limit(self, response: httpx.Response) -> None:
        """Spread the remaining budget over the reset window; wait it out when the budget is spent."""
        remaining = _float_header(response, "x-ratelimit-remaining")
        reset = _float_header(response, "x-ratelimit-reset")
        if remaining is None or reset is None:
            return
        if remaining < 1:
            self._sleep(reset)
        elif remaining < LOW_REMAINING:
            self._sleep(reset / remaining)


def _float_header(response: httpx.Response, name: str) -> float | None:
    try:
        return float(response.headers[name])
    except (KeyError, ValueError):
        return None


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from ``Retry-After``; for a 429 without it, until Reddit's rate window resets.

    The reset header is not a retry hint for 5xx answers (it can be minutes away), so
    those fall back to exponential backoff.
    """
    seconds = _float_header(response, "retry-after")
    if seconds is None and response.status_code == 429:
        seconds = _float_header(response, "x-ratelimit-reset")
    return seconds


def snapshot(source: RedditApiSource, directory: Path, now: datetime | None = None) -> DumpSource:
    """Archive one pass over ``source`` as ``<name>-<UTC time>.ndjson.zst`` and return it as a dump."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{source.name}-{stamp}.ndjson.zst"
    directory.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as raw, zstandard.ZstdCompressor(level=10).stream_writer(raw) as writer:
            for line in source.lines():
                writer.write(line)
    except BaseException:
        temporary.unlink(missing_ok=True)  # a failed fetch archives nothing, not even a partial file
        raise
    commit(temporary, path)
    return DumpSource(path)


def snapshots(directory: Path) -> list[DumpSource]:
    """Every archived API increment in ``directory``, oldest first."""
    return [DumpSource(path) for path in sorted(directory.glob("reddit-api-*.ndjson.zst"))]
