"""The records of the WARC files fetch writes, read back one gzip member at a time and checked from end to end.

Fetch writes every record as a gzip member of its own. A damaged archive must cost only the records it
damages and never hand a reader wrong bytes. warcio (like FastWARC) reads a record lazily and, when the
record is cut short or its Content-Length is wrong, silently goes on into the next member: a page would
get a stranger's bytes, or half its own. So this module inflates exactly one gzip member, whose CRC checks
the bytes, and requires a WARC record whose block is exactly its Content-Length. Anything else is a
``WarcRecordError`` saying what is wrong; callers name the file and offset. Extract reads pages with it,
fetch's replay indexes and reads archives with it.

It does less than warcio, which is most of why it is cheap per record (and imports in milliseconds): one
``zlib`` call, two ``bytes.find`` and a few header lines, for exactly what fetch writes (gzip per record,
the body's Content-Encoding kept, transfer encoding already undone).
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Callable

GZIP_MAGIC = b"\x1f\x8b"
GZIP_DEFLATE_HEADER = b"\x1f\x8b\x08"  # magic and the deflate method: where a member may start
FIRST_READ_BYTES = 1 << 14  # most compressed pages fit; a bigger read costs more than it saves
READ_BYTES = 1 << 16
HEAD_END = b"\r\n\r\n"

Read = Callable[[int, int], bytes]  # (offset, size) -> up to size bytes of the file from offset


def _header(name: bytes) -> re.Pattern[bytes]:
    """A header line's value; the first line of a head (``WARC/1.1``, ``HTTP/1.1 200``) is never one."""
    return re.compile(rb"\r\n" + name + rb"[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)


WARC_TYPE, CONTENT_LENGTH, TARGET_URI = _header(b"WARC-Type"), _header(b"Content-Length"), _header(b"WARC-Target-URI")
CONTENT_ENCODING, TRANSFER_ENCODING = _header(b"Content-Encoding"), _header(b"Transfer-Encoding")
TDM_RESERVATION = _header(b"TDM-Reservation")  # W3C TDMRep: ``1`` reserves the page from text and data mining
X_ROBOTS_TAG = _header(b"X-Robots-Tag")  # robots meta values sent as a header (``noai``, ``noindex``, ...)


class WarcRecordError(ValueError):
    """The record at an offset cannot be read back intact; the message says what is damaged."""


@dataclasses.dataclass(frozen=True, slots=True)
class WarcRecord:
    """One record: its type, its WARC head (without the blank line) and its block of Content-Length bytes."""

    warc_type: str
    head: bytes
    block: bytes

    def header(self, pattern: re.Pattern[bytes]) -> str | None:
        return header_value(pattern, self.head)


def inflate_member(read: Read, offset: int, first_read: int = FIRST_READ_BYTES) -> tuple[bytes, int]:
    """The bytes of the one gzip member that starts at ``offset`` (read ``first_read`` bytes first), and the offset
    where the member ends."""
    chunk = read(offset, first_read)
    if not chunk.startswith(GZIP_MAGIC):
        found = "the end of the file" if not chunk else f"{chunk[:8]!r}"
        raise WarcRecordError(f"no gzip member starts here (found {found})")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    parts = [inflater.decompress(chunk)]
    position = offset + len(chunk)
    while not inflater.eof:
        chunk = read(position, READ_BYTES)
        if not chunk:
            raise WarcRecordError("the file ends inside the record's gzip member (truncated)")
        parts.append(inflater.decompress(chunk))
        position += len(chunk)
    return b"".join(parts), position - len(inflater.unused_data)


def header_value(pattern: re.Pattern[bytes], head: bytes) -> str | None:
    found = pattern.search(head)
    return None if found is None else found.group(1).strip().decode("latin-1")


def split_record(record: bytes) -> WarcRecord:
    """The record in ``record`` (one inflated member), whose block must be exactly its Content-Length."""
    head_end = record.find(HEAD_END)
    if not record.startswith(b"WARC/") or head_end < 0:
        raise WarcRecordError(f"no WARC record header (starts {record[:12]!r})")
    head = record[:head_end]
    declared = header_value(CONTENT_LENGTH, head)
    if declared is None or not declared.isdigit():
        raise WarcRecordError(f"bad Content-Length {declared!r}")
    block_start, length = head_end + len(HEAD_END), int(declared)
    if len(record) != block_start + length + len(HEAD_END) or not record.endswith(HEAD_END):
        held = len(record) - block_start - len(HEAD_END)
        raise WarcRecordError(f"Content-Length says {length} bytes, the record holds {held}")
    return WarcRecord(header_value(WARC_TYPE, head) or "", head, record[block_start : block_start + length])


def split_http_response(block: bytes) -> tuple[bytes, bytes]:
    """(HTTP head, body) of a response record's block: fetch archives bodies de-chunked."""
    http_end = block.find(HEAD_END)
    if http_end < 0:
        raise WarcRecordError("the response block has no HTTP header")
    http_head = block[:http_end]
    if "chunked" in (header_value(TRANSFER_ENCODING, http_head) or "").lower():
        raise WarcRecordError("a chunked body (fetch archives bodies de-chunked)")
    return http_head, block[http_end + len(HEAD_END) :]


def undo_content_encoding(payload: bytes, content_encoding: str) -> bytes:
    """``payload`` with its (gzip or deflate) Content-Encoding undone, outermost coding last."""
    for coding in reversed([coding.strip().lower() for coding in content_encoding.split(",") if coding.strip()]):
        if coding in ("gzip", "x-gzip"):
            payload = zlib.decompress(payload, zlib.MAX_WBITS | 32)  # gzip or zlib header, as browsers accept
        elif coding == "deflate":
            try:
                payload = zlib.decompress(payload)
            except zlib.error:  # servers often send raw deflate under this name
                payload = zlib.decompress(payload, -zlib.MAX_WBITS)
        elif coding != "identity":
            raise WarcRecordError(f"unsupported Content-Encoding {coding!r} (fetch asks for gzip or deflate)")
    return payload


def next_member(read: Read, start: int) -> int | None:
    """The offset of the first gzip member header at or after ``start`` (where reading resumes past damage)."""
    position = start
    while chunk := read(position, READ_BYTES):
        found = chunk.find(GZIP_DEFLATE_HEADER)
        if found >= 0:
            return position + found
        position += max(1, len(chunk) - len(GZIP_DEFLATE_HEADER) + 1)  # a header across two reads is found next
    return None
