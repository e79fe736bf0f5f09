"""The site-wide TDMRep file, ``/.well-known/tdmrep.json`` (W3C TDM Reservation Protocol, final report 2024).

A JSON array of rules, each a ``location`` (a path pattern with robots.txt's ``*`` and ``$``, matched as
RFC 9309 matches: ``pipeline.fetch.robots_rules.Rule``), a ``tdm-reservation`` (1 reserves text and data
mining rights, 0 does not) and an optional ``tdm-policy``. The first rule whose location matches a URL's
path decides it; no match leaves the reservation unset.

The file is read once per origin for the pages fetched from it and kept ``ttl_s``; what it says of each
page goes into the page's row (``tdm_file_reservation``). Extract then applies the protocol's order: the
page's ``TDM-Reservation`` header supersedes the file, and its ``<meta name="tdm-reservation">`` the header.

A site without the file (4xx), or one whose file cannot be read (5xx, unreachable, not JSON, not an
array), reserves nothing by it: the protocol says an origin that gives no valid file does not implement
it. A server error or no answer is asked again after ``retry_s``; a file that is JSON but no rules array is
logged with its URL (a page that is no JSON at all, a soft 404, only at debug level).
A malformed rule is left out (and logged), the others still apply.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp

from pipeline.fetch.guard import BlockedHostError
from pipeline.fetch.origin_cache import OriginCache
from pipeline.fetch.robots_rules import Rule, request_path

log = logging.getLogger(__name__)

TDMREP_PATH = "/.well-known/tdmrep.json"
TDMREP_MAX_BYTES = 500 << 10  # a larger file is not read (a rules file that size is no rules file)

# Fetches a tdmrep.json URL: (HTTP status, its body, or None when it could not be read whole).
# Raises when the origin is unreachable.
TdmFileGetter = Callable[[str], Awaitable[tuple[int, bytes | None]]]


@dataclasses.dataclass(frozen=True, slots=True)
class TdmRule:
    location: Rule
    reservation: int  # 1: rights reserved, 0: not reserved


def _reservation_value(value: object) -> int | None:
    """``tdm-reservation`` as 0 or 1 (a number, or its string as some sites write it); anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str) and str(value).strip() in ("0", "1"):
        return int(str(value).strip())
    return None


class NotJson(ValueError):
    """A tdmrep.json answer that is no JSON at all: many sites answer any path with a page and status 200."""


def parse_tdmrep(text: str, source: str = "tdmrep.json") -> tuple[TdmRule, ...]:
    """The rules of a tdmrep.json file, in order; a file that is not a JSON array is a ``ValueError`` naming
    ``source`` (``NotJson`` when it is no JSON at all). A rule without a string ``location`` or a 0/1
    ``tdm-reservation`` is left out, with a warning."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise NotJson(f"{source} is not JSON: {error}") from error
    if not isinstance(data, list):
        raise ValueError(f"{source} must be a JSON array of rules, found a {type(data).__name__}")
    rules = []
    for position, item in enumerate(data):
        location = item.get("location") if isinstance(item, dict) else None
        reservation = _reservation_value(item.get("tdm-reservation")) if isinstance(item, dict) else None
        if not isinstance(location, str) or not location.strip() or reservation is None:
            log.warning("%s: rule %d left out: it needs a location and a tdm-reservation of 0 or 1", source, position)
            continue
        location = location.strip()
        if not location.startswith(("/", "*")):
            location = "/" + location
        rules.append(TdmRule(Rule(location, allow=False), reservation))
    return tuple(rules)


@dataclasses.dataclass(frozen=True, slots=True)
class TdmFile:
    """What one origin's tdmrep.json says, good until ``expires_at``."""

    rules: tuple[TdmRule, ...]
    expires_at: float

    def reservation(self, url: str) -> int | None:
        """1 or 0 from the first rule matching ``url``'s path, or None when none does (or there is no file)."""
        if not self.rules:
            return None
        path = request_path(url)
        return next((rule.reservation for rule in self.rules if rule.location.matches(path)), None)


class TdmFileCache:
    """One tdmrep.json per origin; concurrent pages of a new (or expired) origin share one fetch."""

    def __init__(
        self,
        get: TdmFileGetter,
        ttl_s: float = 86_400.0,
        retry_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._get = get
        self._ttl_s, self._retry_s = ttl_s, retry_s
        self._clock = clock
        self._cache = OriginCache(self._load, clock)

    async def reservation(self, url: str) -> int | None:
        return (await self._cache.get(url)).reservation(url)

    async def _load(self, key: str) -> TdmFile:
        url = key + TDMREP_PATH
        try:
            status, body = await self._get(url)
        except (aiohttp.ClientError, TimeoutError, OSError, BlockedHostError) as error:  # the page is fetched already
            log.debug("%s unreachable: %s", url, error)
            return TdmFile((), self._clock() + self._retry_s)
        now = self._clock()
        if status >= 500 or status == 429:
            return TdmFile((), now + self._retry_s)
        if status >= 400:
            return TdmFile((), now + self._ttl_s)
        if body is None:
            log.warning(
                "%s could not be read whole (over %d bytes, or a bad encoding): no TDMRep rules", url, TDMREP_MAX_BYTES
            )
            return TdmFile((), now + self._ttl_s)
        try:
            return TdmFile(parse_tdmrep(body.decode("utf-8-sig", errors="replace"), url), now + self._ttl_s)
        except NotJson as error:  # most often a site's "not found" page answered with 200: no file, nothing to say
            log.debug("%s: no TDMRep rules (%s)", url, error)
        except ValueError as error:
            log.warning("%s: no TDMRep rules (%s)", url, error)
        return TdmFile((), now + self._ttl_s)
