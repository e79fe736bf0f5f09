"""What a fetcher returns: the outcome of one URL and the HTTP exchanges to archive."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Protocol

import aiohttp

DROPPED_RESPONSE_HEADERS = frozenset({"transfer-encoding"})  # the archived body is de-chunked


class PeerResponse(aiohttp.ClientResponse):
    """A response that knows the IP address it came from (``WARC-IP-Address``), read from the connection as the
    response starts: a short body is read with the headers and hands its connection back before the caller sees it.
    """

    peer_ip: str | None = None

    async def start(self, connection: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        transport = connection.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        self.peer_ip = str(peer[0]) if isinstance(peer, tuple) and peer else None
        return await super().start(connection)


@dataclasses.dataclass(slots=True)
class Exchange:
    """One request/response pair as it went over the wire (body still content-encoded).

    ``peer_ip`` is the address the response came from (``None`` when not known, as in a replay); ``truncated`` is
    why the archived body is shorter than the one sent (``length``: fetch read no further), else ``None``.
    """

    url: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body: bytes
    fetched_at: datetime
    peer_ip: str | None = None
    truncated: str | None = None

    @classmethod
    def of(
        cls,
        url: str,
        response: aiohttp.ClientResponse,
        body: bytes,
        fetched_at: datetime,
        truncated: str | None = None,
    ) -> Exchange:
        request_headers = [(str(name), str(value)) for name, value in response.request_info.headers.items()]
        response_headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in response.raw_headers
            if name.decode("latin-1").lower() not in DROPPED_RESPONSE_HEADERS
        ]
        reason = response.reason or ""
        peer_ip = response.peer_ip if isinstance(response, PeerResponse) else None
        return cls(
            url, request_headers, response.status, reason, response_headers, body, fetched_at, peer_ip, truncated
        )


def unread_body(response: aiohttp.ClientResponse) -> str | None:
    """``length`` when ``response`` has a body fetch does not read (a redirect's, an answer to robots.txt that is an
    error): its archived record says the payload was cut. ``None`` when the server declared an empty body."""
    return None if response.content_length == 0 else "length"


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
    # robots.txt and tdmrep.json answers (of any origin) received while this URL was fetched: archived before
    # ``exchanges``, never a pages row's record
    site_file_exchanges: list[Exchange] = dataclasses.field(default_factory=list)


class Fetcher(Protocol):
    """Live HTTP or WARC replay: the fetch stage does not know which."""

    async def fetch(self, url: str) -> FetchResult: ...

    async def close(self) -> None: ...
