"""A fetcher that answers from existing WARC files instead of the network.

It stands behind the same interface as the live fetcher, so the fetch stage can rebuild
a pages index (and tests can run) from an archive: redirects are followed through the
archived 3xx responses, and a URL the archive lacks is the outcome ``not_archived``. A damaged record
costs only itself: indexing skips it and reads on at the next record (``damaged`` lists it, and a warning
names it), and a record that fails its check when replayed is the URL's outcome ``warc_error``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

from pipeline.fetch.body import looks_binary, settle_charset
from pipeline.fetch.http import REDIRECTS
from pipeline.fetch.results import Exchange, FetchResult
from pipeline.fetch.warc import read_response, responses
from pipeline.warc_members import WarcRecordError

log = logging.getLogger(__name__)

# The replayed body is already decoded, so headers describing the wire encoding are dropped.
WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class WarcReplayFetcher:
    """Serves the last archived response of each URL in ``warc_files``."""

    def __init__(self, warc_files: Iterable[Path], max_redirects: int = 5) -> None:
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

    async def fetch(self, url: str) -> FetchResult:
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
        location = next((value for name, value in headers if name.lower() == "location"), None)
        if status in REDIRECTS and location:
            result.exchanges.append(exchange)
            return urljoin(url, location)
        result.final_url, result.status = url, status
        result.content_type = next((value for name, value in headers if name.lower() == "content-type"), None)
        if status >= 400:
            result.outcome = f"http_{status}"
        elif looks_binary(body):
            result.outcome = "not_text"
        else:
            result.charset, result.bytes, result.outcome = settle_charset(result.content_type, body), len(body), "ok"
            result.exchanges.append(exchange)
        return None

    async def close(self) -> None:
        return None
