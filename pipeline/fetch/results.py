"""What a fetcher returns: the outcome of one URL and the HTTP exchanges to archive."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Protocol

import aiohttp

DROPPED_RESPONSE_HEADERS = frozenset({"transfer-encoding"})  # the archived body is de-chunked


@dataclasses.dataclass(slots=True)
class Exchange:
    """One request/response pair as it went over the wire (body still content-encoded)."""

    url: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body: bytes
    fetched_at: datetime

    @classmethod
    def of(cls, url: str, response: aiohttp.ClientResponse, body: bytes, fetched_at: datetime) -> Exchange:
        request_headers = [(str(name), str(value)) for name, value in response.request_info.headers.items()]
        response_headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in response.raw_headers
            if name.decode("latin-1").lower() not in DROPPED_RESPONSE_HEADERS
        ]
        return cls(url, request_headers, response.status, response.reason or "", response_headers, body, fetched_at)


@dataclasses.dataclass(slots=True)
class FetchResult:
    """The end of one URL's fetch: ``outcome`` is ``ok`` or the reason it failed."""

    url: str
    outcome: str
    final_url: str | None = None
    status: int | None = None
    content_type: str | None = None
    charset: str | None = None
    bytes: int = 0
    attempts: int = 0
    exchanges: list[Exchange] = dataclasses.field(default_factory=list)
    tdm_file_reservation: int | None = None  # what the site's tdmrep.json says of the final URL (``tdmrep``)


class Fetcher(Protocol):
    """Live HTTP or WARC replay: the fetch stage does not know which."""

    async def fetch(self, url: str) -> FetchResult: ...

    async def close(self) -> None: ...
