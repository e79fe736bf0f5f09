"""A fetcher that answers from existing WARC files instead of the network.

It stands behind the same interface as the live fetcher, so the fetch stage can rebuild
a pages index (and tests can run) from an archive: redirects are followed through the
archived 3xx responses, and a URL the archive lacks is the outcome ``not_archived``. A damaged record
costs only itself: indexing skips it and reads on at the next record (``damaged`` lists it, and a warning
names it), and a record that fails its check when replayed is the URL's outcome ``warc_error``.

The live fetch archives each site's ``/.well-known/tdmrep.json`` answer beside its pages, so a replayed
page gets its site's TDMRep reservation from the archived file, read by the live fetch's own rules
(``TdmFileCache``); an archive without the file leaves it unset, as a site without one does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

from pipeline.fetch.body import looks_binary, settle_charset
from pipeline.fetch.http import REDIRECTS, ROBOTS_REDIRECTS
from pipeline.fetch.results import Exchange, FetchResult
from pipeline.fetch.tdmrep import TDMREP_MAX_BYTES, TdmFileCache
from pipeline.fetch.warc import read_response, responses
from pipeline.warc_members import WarcRecordError

log = logging.getLogger(__name__)

# The replayed body is already decoded, so headers describing the wire encoding are dropped.
WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class WarcReplayFetcher:
    """Serves the last archived response of each URL in ``warc_files``."""

    def __init__(self, warc_files: Iterable[Path], max_redirects: int = 5, read_tdmrep_file: bool = True) -> None:
        self._index: dict[str, tuple[Path, int]] = {}
        self.damaged: list[tuple[Path, int, str]] = []  # (file, offset, what is wrong) of the records skipped
        for path in warc_files:
            skipped: list[tuple[int, str]] = []
            for url, offset in responses(path, skipped):
                self._index[url] = (path, offset)
            for offset, error in skipped:
                log.warning("%s at offset %d: a damaged record, skipped (%s)", path, offset, error)
                self.damaged.append((path, offset, error))
        self._max_redirects = max_redirects
        self._tdm_files = TdmFileCache(self._archived_site_file) if read_tdmrep_file else None

    async def fetch(self, url: str) -> FetchResult:
        result = await self._follow(url)
        if result.outcome == "ok" and result.final_url and self._tdm_files is not None:
            result.tdm_file_reservation = await self._tdm_files.reservation(result.final_url)
        return result

    async def _follow(self, url: str) -> FetchResult:
        result = FetchResult(url=url, outcome="not_archived")
        current, seen = url, set()
        while current not in seen and len(seen) <= self._max_redirects:
            seen.add(current)
            if current not in self._index:
                return result
            result.attempts += 1
            next_url = self._replay(current, result)
            if next_url is None:
                return result
            current = next_url
        result.outcome = "redirect_loop" if current in seen else "too_many_redirects"
        return result

    def _replay(self, url: str, result: FetchResult) -> str | None:
        try:
            status, headers, body = read_response(*self._index[url])
        except WarcRecordError as error:
            log.warning("%s: %s", url, error)
            result.outcome = "warc_error"
            return None
        kept = [(name, value) for name, value in headers if name.lower() not in WIRE_HEADERS]
        exchange = Exchange(url, [], status, "", kept, body, datetime.now(UTC))
        location = _header(headers, "location")
        if status in REDIRECTS and location:
            result.exchanges.append(exchange)
            return urljoin(url, location)
        result.final_url, result.status = url, status
        result.content_type = _header(headers, "content-type")
        if status >= 400:
            result.outcome = f"http_{status}"
        elif looks_binary(body):
            result.outcome = "not_text"
        else:
            result.charset, result.bytes, result.outcome = settle_charset(result.content_type, body), len(body), "ok"
            result.exchanges.append(exchange)
        return None

    async def _archived_site_file(self, url: str) -> tuple[int, bytes | None]:
        """The archived answer to a site file request, its redirects followed as the live fetch follows them:
        (status, body; no body past the live size cap). An archive without it, or with a damaged record of it,
        raises ``OSError``: to the cache, a site that did not answer."""
        for _ in range(ROBOTS_REDIRECTS + 1):
            if url not in self._index:
                raise OSError(f"{url} is not in the archive")
            try:
                status, headers, body = read_response(*self._index[url])
            except WarcRecordError as error:
                log.warning("%s: %s", url, error)
                raise OSError(str(error)) from error
            location = _header(headers, "location")
            if status in REDIRECTS and location:
                url = urljoin(url, location)
                continue
            return status, body if len(body) <= TDMREP_MAX_BYTES else None
        return 404, b""  # a redirect chain: no file, as the live fetch decides

    async def close(self) -> None:
        return None


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    """The first value of header ``name`` (lower case) in an archived response's headers."""
    return next((value for key, value in headers if key.lower() == name), None)
