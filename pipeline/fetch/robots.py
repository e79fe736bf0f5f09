"""robots.txt, fetched once per origin and shared by every request to it (RFC 9309 rules).

A missing robots.txt (4xx) allows everything; a server error (5xx) disallows everything,
as the RFC asks. When the origin cannot be reached at all, the getter's exception reaches
the page's fetch (so the page says ``timeout`` or ``dns_error``, not ``robots_disallowed``)
and the failed lookup is forgotten, so a retry asks again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from protego import Protego

# Fetches a URL and returns (HTTP status, body text); raises when the origin is unreachable.
RobotsGetter = Callable[[str], Awaitable[tuple[int, str]]]
ALLOW_ALL = Protego.parse("")
DISALLOW_ALL = Protego.parse("User-agent: *\nDisallow: /\n")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class RobotsCache:
    """One robots.txt per origin; concurrent requests to a new origin share one fetch."""

    def __init__(self, get: RobotsGetter, user_agent: str) -> None:
        self._get = get
        self._user_agent = user_agent
        self._rules: dict[str, asyncio.Task[Protego]] = {}

    async def rules(self, url: str) -> Protego:
        key = origin(url)
        task = self._rules.get(key)
        if task is None or (task.done() and not task.cancelled() and task.exception() is not None):
            task = self._rules[key] = asyncio.ensure_future(self._load(key))
        return await asyncio.shield(task)

    async def allowed(self, url: str) -> bool:
        return (await self.rules(url)).can_fetch(url, self._user_agent)

    async def crawl_delay(self, url: str) -> float:
        delay = (await self.rules(url)).crawl_delay(self._user_agent)
        return float(delay) if delay else 0.0

    async def _load(self, key: str) -> Protego:
        status, text = await self._get(f"{key}/robots.txt")
        if status >= 500:
            return DISALLOW_ALL
        if status >= 400:
            return ALLOW_ALL
        return Protego.parse(text)
