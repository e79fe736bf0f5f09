"""WARC archive of every exchange, so extraction can be rerun without the network.

One WARC/1.1 file per fetch batch, gzip per record (random access by offset), a
``warcinfo`` record first, then a ``request`` and a ``response`` record per exchange.
The file is written under a temporary name and renamed when its batch is committed.

Records carry the headers Common Crawl writes, since readers built for its archives rely on them
(docs/fetch.md, "WARC records"): a response says its ``WARC-Identified-Payload-Type`` (without it,
datatrove's reader guesses with libmagic and drops most pages), ``WARC-IP-Address`` when known,
``WARC-Warcinfo-ID``, ``WARC-Concurrent-To`` both ways, and ``WARC-Truncated`` when the body is cut.

Records are serialised here rather than with warcio's writer: archiving is most of a
crawler's CPU, and warcio's record builder (header objects, streamed digests, zlib
level 9) costs several times more per page than these few lines. Reading back (the replay) goes
through ``pipeline.warc_members``, one gzip member at a time, each checked end to end: a damaged record is
skipped and counted, never read past. The tests check every file written with warcio, an independent parser.
The gzip level is the crawler's main speed/size knob: level 1 compresses web pages 3.5x
faster than level 6 for files about 20% larger (``FetchConfig.warc_gzip_level``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.fetch.payload_type import identified_payload_type
from pipeline.fetch.results import Exchange
from pipeline.shards import commit
from pipeline.warc_members import (
    CONTENT_ENCODING,
    TARGET_URI,
    Read,
    WarcRecordError,
    header_value,
    inflate_member,
    next_member,
    split_http_response,
    split_record,
    undo_content_encoding,
)

SOFTWARE = "webtext-fetch/0.1"


def _gzip_member(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return compressor.compress(data) + compressor.flush()


def _sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def _http_head(start_line: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [start_line, *(f"{name}: {value}" for name, value in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1", errors="replace")


def _record(warc_type: str, fields: list[tuple[str, str]], content_type: str, block: bytes) -> bytes:
    """One serialised WARC record (not yet compressed)."""
    header = [
        "WARC/1.1",
        f"WARC-Type: {warc_type}",
        *(f"{name}: {value}" for name, value in fields),
        f"Content-Type: {content_type}",
        f"Content-Length: {len(block)}",
        "",
        "",
    ]
    return "\r\n".join(header).encode("utf-8") + block + b"\r\n\r\n"


class WarcBatchWriter:
    """Appends exchanges to one batch's WARC file; nothing is visible under its name until ``commit``."""

    def __init__(self, path: Path, gzip_level: int = 6) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._level = gzip_level
        self._temporary = path.with_name(f".{path.name}.tmp")
        self._file = open(self._temporary, "wb")  # closed by commit() or abort()
        date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        info = f"software: {SOFTWARE}\r\nformat: WARC File Format 1.1\r\n".encode()
        self.warcinfo_id = _record_id()
        fields = [("WARC-Record-ID", self.warcinfo_id), ("WARC-Date", date), ("WARC-Filename", path.name)]
        self._file.write(_gzip_member(_record("warcinfo", fields, "application/warc-fields", info), gzip_level))

    def write(self, exchange: Exchange) -> int:
        """Archive ``exchange``; returns the offset of its response record."""
        return self.append(serialise(exchange, self._level, self.warcinfo_id))

    def append(self, members: tuple[bytes, bytes]) -> int:
        """Append a request and a response member made by :func:`serialise`; returns the response's offset."""
        request, response = members
        self._file.write(request)
        offset = self._file.tell()
        self._file.write(response)
        return offset

    def commit(self) -> None:
        """Close and move the file into place; an existing WARC file of that name is never replaced."""
        self._file.close()
        commit(self._temporary, self.path, replace=False)

    def abort(self) -> None:
        self._file.close()
        self._temporary.unlink(missing_ok=True)


def serialise(exchange: Exchange, gzip_level: int = 6, warcinfo_id: str | None = None) -> tuple[bytes, bytes]:
    """The gzip members of ``exchange``'s request and response records (pure, thread-safe); ``warcinfo_id`` is
    the ``WARC-Record-ID`` of the warcinfo record of the file they go into."""
    date = exchange.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = urlsplit(exchange.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_block = _http_head(f"GET {target} HTTP/1.1", exchange.request_headers)
    response_head = _http_head(f"HTTP/1.1 {exchange.status} {exchange.reason}".rstrip(), exchange.response_headers)
    response_block = response_head + exchange.body
    request_id, response_id = _record_id(), _record_id()
    common = [("WARC-Date", date), ("WARC-Target-URI", exchange.url)]
    if warcinfo_id is not None:
        common.append(("WARC-Warcinfo-ID", warcinfo_id))
    if exchange.peer_ip is not None:
        common.append(("WARC-IP-Address", exchange.peer_ip))
    request = _record(
        "request",
        [
            ("WARC-Record-ID", request_id),
            *common,
            ("WARC-Concurrent-To", response_id),
            ("WARC-Block-Digest", _sha1(request_block)),
        ],
        "application/http; msgtype=request",
        request_block,
    )
    response_fields = [
        ("WARC-Record-ID", response_id),
        *common,
        ("WARC-Concurrent-To", request_id),
        ("WARC-Payload-Digest", _sha1(exchange.body)),
        ("WARC-Block-Digest", _sha1(response_block)),
        ("WARC-Identified-Payload-Type", identified_payload_type(exchange.response_headers, exchange.body)),
    ]
    if exchange.truncated is not None:
        response_fields.append(("WARC-Truncated", exchange.truncated))
    response = _record("response", response_fields, "application/http; msgtype=response", response_block)
    return _gzip_member(request, gzip_level), _gzip_member(response, gzip_level)


def read_response(path: Path, offset: int) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body with its content encoding undone) of the response record at ``offset``; a damaged or
    foreign record is a ``WarcRecordError`` naming the file, the offset and the damage."""
    with open(path, "rb") as handle:
        read = _reader(handle.fileno())
        try:
            record = split_record(inflate_member(read, offset)[0])
            if record.warc_type != "response":
                raise WarcRecordError(f"expected a response record, found {record.warc_type or 'no WARC-Type'!r}")
            http_head, body = split_http_response(record.block)
            status, headers = _parse_http_head(http_head)
            return status, headers, undo_content_encoding(body, header_value(CONTENT_ENCODING, http_head) or "")
        except (zlib.error, WarcRecordError) as error:
            raise WarcRecordError(f"{path} at offset {offset}: {error}") from error


def responses(path: Path, damaged: list[tuple[int, str]] | None = None) -> Iterator[tuple[str, int]]:
    """(target URL, offset) of every intact response record in a WARC file, in file order. A damaged record is
    skipped, reading on at the next gzip member, and noted in ``damaged`` as (offset, what is wrong)."""
    with open(path, "rb") as handle:
        read, offset = _reader(handle.fileno()), 0
        while read(offset, 1):
            try:
                record_bytes, end = inflate_member(read, offset)
                record = split_record(record_bytes)
            except (zlib.error, WarcRecordError) as error:
                if damaged is not None:
                    damaged.append((offset, str(error)))
                resume = next_member(read, offset + 1)
                if resume is None:
                    return
                offset = resume
                continue
            if record.warc_type == "response":
                yield record.header(TARGET_URI) or "", offset
            offset = end


def _reader(descriptor: int) -> Read:
    return lambda offset, size: os.pread(descriptor, size, offset)


def _parse_http_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    """The status and the header lines of an archived HTTP response head."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise WarcRecordError(f"no HTTP status line ({status_line[:40]!r})")
    headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines) if name]
    return int(parts[1]), headers
