"""Building a fetch output directory (WARC files + pages shards) the way the fetch stage lays it out."""

from __future__ import annotations

import dataclasses
import gzip
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.fetch.tdmrep import TdmFile, parse_tdmrep
from pipeline.records import FetchRecord, to_table
from pipeline.sample.web import TDMREP_FILES, Route
from pipeline.shards import write_shard

FETCHED_AT = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)


@dataclasses.dataclass(slots=True)
class Page:
    """One row of a pages shard; ``body`` is archived when ``outcome`` is ok."""

    url: str
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    charset: str | None = "utf-8"
    outcome: str = "ok"
    karma: int = 5
    status: int | None = 200
    gzip_encoded: bool = False  # archive the body with Content-Encoding: gzip, as sent on the wire
    first_seen: datetime | None = None
    headers: tuple[tuple[str, str], ...] = ()  # more response headers, archived as sent
    tdm_file_reservation: int | None = None  # what the site's tdmrep.json said of it (fetch's pages row)


def page_from_route(route: Route, **overrides: object) -> Page:
    """The page the fetch stage would record for a sample route (wrong charsets stored as declared, the headers
    its server sends, what its site's tdmrep.json says of it)."""
    if route.role in ("robots_disallowed", "robots_ai_optout"):
        outcome = route.role
    elif route.status == 0:
        outcome = "connection_refused"
    else:
        outcome = "ok" if route.status == 200 else f"http_{route.status}"
    declared = route.content_type.partition("charset=")[2] or None
    fields: dict[str, object] = {
        "url": route.url,
        "body": route.body or b"",
        "content_type": route.content_type,
        "charset": declared,
        "outcome": outcome,
        "karma": sum(route.karma),
        "status": route.status or None,
        "headers": route.headers,
        "tdm_file_reservation": site_file_reservation(route),
    }
    return Page(**{**fields, **overrides})  # type: ignore[arg-type]


def site_file_reservation(route: Route) -> int | None:
    site_file = TDMREP_FILES.get(route.host)
    return TdmFile(parse_tdmrep(site_file), expires_at=0.0).reservation(route.url) if site_file else None


def marked_pages(routes: list[Route], markers: list[str]) -> list[Page]:
    """Articles of the sample, the first ones re-addressed under URLs carrying ``markers``."""
    articles = [route for route in routes if route.role == "article"]
    pages = [page_from_route(route) for route in articles]
    for index, marker in enumerate(markers):
        pages[index * 3].url = f"http://news.webtext.test/{marker}/{index}"
    return pages


def _archive(writer: WARCWriter, page: Page) -> int:
    """Write a request and a response record for ``page``; returns the response record's offset."""
    request = writer.create_warc_record(
        page.url,
        "request",
        payload=io.BytesIO(b""),
        http_headers=StatusAndHeaders("GET / HTTP/1.1", [("User-Agent", "webtext-test")], is_http_request=True),
    )
    writer.write_record(request)
    headers = [("Content-Type", page.content_type or "application/octet-stream"), *page.headers]
    body = page.body
    if page.gzip_encoded:
        headers.append(("Content-Encoding", "gzip"))
        body = gzip.compress(body, mtime=0)
    response = writer.create_warc_record(
        page.url,
        "response",
        payload=io.BytesIO(body),
        http_headers=StatusAndHeaders(f"{page.status or 200} OK", headers, protocol="HTTP/1.1"),
    )
    offset = writer.out.tell()
    writer.write_record(response)
    return offset


def write_pages_shard(fetch_dir: Path, name: str, pages: list[Page]) -> Path:
    """``pages/<name>.parquet`` and ``warc/<name>.warc.gz`` the way the fetch stage lays them out."""
    warc_relative = f"warc/{name}.warc.gz"
    (fetch_dir / "warc").mkdir(parents=True, exist_ok=True)
    records = []
    with open(fetch_dir / warc_relative, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for page in pages:
            offset = _archive(writer, page) if page.outcome == "ok" else None
            records.append(
                FetchRecord(
                    url=page.url,
                    final_url=page.url if page.outcome == "ok" else None,
                    status=page.status,
                    content_type=page.content_type,
                    charset=page.charset,
                    bytes=len(page.body),
                    warc_file=warc_relative if offset is not None else None,
                    warc_offset=offset,
                    fetched_at=FETCHED_AT,
                    outcome=page.outcome,
                    karma=page.karma,
                    attempts=1,
                    first_seen=page.first_seen,
                    tdm_file_reservation=page.tdm_file_reservation,
                )
            )
    shard = fetch_dir / "pages" / f"{name}.parquet"
    write_shard(to_table(records, FetchRecord), shard, shard_fingerprint=f"test-{name}")
    return shard


FetchDirFactory = Callable[[dict[str, list[Page]]], Path]
