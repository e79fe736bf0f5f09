"""One response read back from a fetch stage WARC file, checked from end to end.

Fetch writes every record as a gzip member of its own and indexes the offset of each response.
A damaged archive must cost only the pages it damages, and must never hand the extractor wrong
bytes. warcio (like FastWARC) reads a record lazily and, when the record is cut short or its
Content-Length is wrong, silently goes on into the next member: the page would get a stranger's
bytes, or half its own. So this reader inflates exactly one gzip member, whose CRC checks the
bytes, then requires the record to be a ``response`` whose Content-Length is what the member
holds. Any other outcome, a missing file included, is a ``WarcRecordError`` naming the file and
offset, which the stage counts as that page's ``warc_error``.

It also does less than warcio, which is most of why the worker is cheap per page (and imports in
milliseconds): one ``zlib`` call, two ``bytes.find`` and a few header lines, for exactly what fetch
writes (gzip per record, the body's Content-Encoding kept, transfer encoding already undone).
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
FIRST_READ_BYTES = 1 << 14  # most compressed pages fit; a bigger read costs more than it saves
READ_BYTES = 1 << 16
# A read size known from the index (up to the next record in the file) is used when it is within these bounds.
MIN_SIZE_HINT, MAX_SIZE_HINT = 1 << 9, 1 << 20
HEAD_END = b"\r\n\r\n"


def _header(name: bytes) -> re.Pattern[bytes]:
    """A header line's value; the first line of a head (``WARC/1.1``, ``HTTP/1.1 200``) is never one."""
    return re.compile(rb"\r\n" + name + rb"[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)


WARC_TYPE, CONTENT_LENGTH = _header(b"WARC-Type"), _header(b"Content-Length")
CONTENT_ENCODING, TRANSFER_ENCODING = _header(b"Content-Encoding"), _header(b"Transfer-Encoding")


class WarcRecordError(ValueError):
    """The record at an offset cannot be read back intact; the message names the file, offset and damage."""


class OpenArchive:
    """The WARC file read last, kept open: a worker reads a shard's pages from one file, one after another.

    Opening and closing the file for every page costs more than inflating a small page's record
    (system calls are dear in a VM). Only a worker holds one, for one run; files are append-only.
    """

    def __init__(self) -> None:
        self._path: str | Path | None = None
        self._descriptor: int | None = None

    def reader(self, path: str | Path) -> Callable[[int, int], bytes]:
        """``read(offset, size)`` on ``path``'s file (a worker passes the ``str`` it got: no ``Path`` per page)."""
        if path != self._path:
            self.close()
            self._descriptor, self._path = os.open(path, os.O_RDONLY), path
        descriptor = self._descriptor
        return lambda offset, size: os.pread(descriptor, size, offset)

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
        self._path = self._descriptor = None


def read_response_body(
    path: str | Path, offset: int, archive: OpenArchive | None = None, size_hint: int | None = None
) -> bytes:
    """The payload of the ``response`` record at ``offset``, its Content-Encoding undone.

    ``archive`` keeps the file open for the next call; without one the file is opened and closed here.
    ``size_hint``, the bytes up to the next record the index knows of, sizes the first read; it
    changes only how the bytes are read, never what is read or checked.
    """
    opened = archive or OpenArchive()
    hinted = size_hint is not None and MIN_SIZE_HINT <= size_hint <= MAX_SIZE_HINT
    try:
        record = _inflate_member(opened.reader(path), offset, size_hint if hinted else FIRST_READ_BYTES)
        content_encoding, payload = _split_response(record)
        return _undo_content_encoding(payload, content_encoding)
    except (OSError, zlib.error, WarcRecordError) as error:
        raise WarcRecordError(f"{path} at offset {offset}: {error}") from error
    finally:
        if archive is None:
            opened.close()


def _inflate_member(read: Callable[[int, int], bytes], offset: int, first_read: int) -> bytes:
    """The bytes of the one gzip member that starts at ``offset``, read ``first_read`` bytes first."""
    chunk = read(offset, first_read)
    if not chunk.startswith(GZIP_MAGIC):
        found = "the end of the file" if not chunk else f"{chunk[:8]!r}"
        raise WarcRecordError(f"no gzip member starts here (found {found})")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    parts = [inflater.decompress(chunk)]
    offset += len(chunk)
    while not inflater.eof:
        chunk = read(offset, READ_BYTES)
        if not chunk:
            raise WarcRecordError("the file ends inside the record's gzip member (truncated)")
        parts.append(inflater.decompress(chunk))
        offset += len(chunk)
    return b"".join(parts)


def _value(pattern: re.Pattern[bytes], head: bytes) -> str | None:
    found = pattern.search(head)
    return None if found is None else found.group(1).strip().decode("latin-1")


def _split_response(record: bytes) -> tuple[str, bytes]:
    """(Content-Encoding, payload) of a WARC response record whose block is exactly its Content-Length."""
    head_end = record.find(HEAD_END)
    if not record.startswith(b"WARC/") or head_end < 0:
        raise WarcRecordError(f"no WARC record header (starts {record[:12]!r})")
    head = record[:head_end]
    warc_type = _value(WARC_TYPE, head)
    if warc_type != "response":
        raise WarcRecordError(f"expected a response record, found {warc_type or 'no WARC-Type'!r}")
    declared = _value(CONTENT_LENGTH, head)
    if declared is None or not declared.isdigit():
        raise WarcRecordError(f"bad Content-Length {declared!r}")
    block_start, length = head_end + len(HEAD_END), int(declared)
    if len(record) != block_start + length + len(HEAD_END) or not record.endswith(HEAD_END):
        held = len(record) - block_start - len(HEAD_END)
        raise WarcRecordError(f"Content-Length says {length} bytes, the record holds {held}")
    http_end = record.find(HEAD_END, block_start, block_start + length)
    if http_end < 0:
        raise WarcRecordError("the response block has no HTTP header")
    http_head = record[block_start:http_end]
    if "chunked" in (_value(TRANSFER_ENCODING, http_head) or "").lower():
        raise WarcRecordError("a chunked body (fetch archives bodies de-chunked)")
    return _value(CONTENT_ENCODING, http_head) or "", record[http_end + len(HEAD_END) : block_start + length]


def _undo_content_encoding(payload: bytes, content_encoding: str) -> bytes:
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
