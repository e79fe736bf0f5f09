"""robots.txt, fetched once per origin, shared by every request to it, and read again when it expires.

What each answer means (RFC 9309 §2.3.1; docs/fetch.md "Compliance"):

- 2xx: its rules (the first 500 KiB, cut at a line break) are obeyed for ``ttl_s`` (at most a day, §2.4).
- 4xx: there are none; everything is allowed for ``ttl_s``. 429 is read as a server error instead.
- 5xx, 429, or a body in an encoding never asked for: everything is disallowed, for ``retry_s``, then
  robots.txt is asked again, so one bad minute does not close a host for the whole run.
- No answer (refused, timed out, DNS): the getter's exception reaches the page's fetch, so the page says
  ``timeout`` or ``dns_error`` (it is not requested either) and the next request to the origin asks again.

Besides webtext's own group (or ``*``), the groups naming the AI-training crawlers in ``ai_tokens`` bind
webtext too: a page one of them disallows is ``robots_ai_optout``. A ``*`` group is never an AI opt-out.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable

from pipeline.fetch.origin_cache import OriginCache
from pipeline.fetch.robots_rules import ALLOW_ALL, DISALLOW_ALL, RobotsTxt, RuleGroup, request_path

# Fetches a robots.txt URL: (HTTP status, its text, or None when the body could not be decoded).
# Raises when the origin is unreachable.
RobotsGetter = Callable[[str], Awaitable[tuple[int, str | None]]]
Clock = Callable[[], float]
ROBOTS_MAX_BYTES = 500 << 10  # RFC 9309 §2.5: at least the first 500 KiB are parsed
ROBOTS_DISALLOWED, ROBOTS_AI_OPTOUT = "robots_disallowed", "robots_ai_optout"  # the outcomes of a refused page


def robots_text(body: bytes, complete: bool) -> str:
    """A robots.txt body as text; a body cut short loses its last, partial line (a rule half read is no rule)."""
    if not complete:
        cut = max(body.rfind(b"\n"), body.rfind(b"\r"))
        body = body[: cut + 1]
    return body.decode("utf-8-sig", errors="replace")


@dataclasses.dataclass(frozen=True, slots=True)
class OriginRobots:
    """What one origin's robots.txt says to webtext, decided when it was read, good until ``expires_at``."""

    own: RuleGroup
    ai_optouts: tuple[RuleGroup, ...]
    expires_at: float

    def refusal(self, url: str) -> str | None:
        """``robots_disallowed``, ``robots_ai_optout``, or ``None`` when ``url`` may be fetched."""
        if not self.own.rules and not self.ai_optouts:
            return None
        path = request_path(url)
        if not self.own.allows(path):
            return ROBOTS_DISALLOWED
        if not all(group.allows(path) for group in self.ai_optouts):
            return ROBOTS_AI_OPTOUT
        return None


class RobotsCache:
    """One robots.txt per origin; concurrent requests to a new (or expired) origin share one fetch."""

    def __init__(
        self,
        get: RobotsGetter,
        token: str,
        ai_tokens: tuple[str, ...] = (),
        ttl_s: float = 86_400.0,
        retry_s: float = 300.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._get = get
        self._token = token
        self._ai_tokens = tuple(dict.fromkeys(name for name in ai_tokens if name != token))
        self._ttl_s, self._retry_s = ttl_s, retry_s
        self._clock = clock
        self._cache = OriginCache(self._load, clock)

    async def rules(self, url: str) -> OriginRobots:
        return await self._cache.get(url)

    async def refusal(self, url: str) -> str | None:
        return (await self.rules(url)).refusal(url)

    async def crawl_delay(self, url: str) -> float:
        return (await self.rules(url)).own.crawl_delay

    async def _load(self, key: str) -> OriginRobots:
        status, text = await self._get(f"{key}/robots.txt")
        now = self._clock()
        if status >= 500 or status == 429 or text is None:
            return OriginRobots(DISALLOW_ALL, (), now + self._retry_s)
        if status >= 400:
            return OriginRobots(ALLOW_ALL, (), now + self._ttl_s)
        robots = RobotsTxt.parse(text)
        ai_optouts = tuple(group for name in self._ai_tokens if (group := robots.named(name)) is not None)
        return OriginRobots(robots.group_for(self._token), ai_optouts, now + self._ttl_s)
