"""One response read back from a fetch stage WARC file, checked from end to end (``pipeline.warc_members``).

Any damage, a missing file included, is a ``WarcRecordError`` naming the file and offset, which the stage
counts as that page's ``warc_error``. A worker reads a shard's pages from one file, one after another,
through an ``OpenArchive``.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from pipeline.warc_members import (
    CONTENT_ENCODING,
    FIRST_READ_BYTES,
    TDM_RESERVATION,
    X_ROBOTS_TAG,
    WarcRecordError,
    header_value,
    inflate_member,
    split_http_response,
    split_record,
    undo_content_encoding,
)

__all__ = ["ArchivedResponse", "OpenArchive", "WarcRecordError", "read_response", "read_response_body"]

# A read size known from the index (up to the next record in the file) is used when it is within these bounds.
MIN_SIZE_HINT, MAX_SIZE_HINT = 1 << 9, 1 << 20


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


class ArchivedResponse(NamedTuple):
    """A response's payload (its Content-Encoding undone) and the HTTP headers extract acts on."""

    body: bytes
    tdm_reservation: str | None  # the ``TDM-Reservation`` header (TDMRep): ``1`` reserves the page
    robots_tag: str | None  # the ``X-Robots-Tag`` header: robots meta values (``noai``) for the whole response


def read_response_body(
    path: str | Path, offset: int, archive: OpenArchive | None = None, size_hint: int | None = None
) -> bytes:
    """The payload of the ``response`` record at ``offset``, its Content-Encoding undone (see ``read_response``)."""
    return read_response(path, offset, archive, size_hint).body


def read_response(
    path: str | Path, offset: int, archive: OpenArchive | None = None, size_hint: int | None = None
) -> ArchivedResponse:
    """The ``response`` record at ``offset``: its payload, its Content-Encoding undone, and its opt-out headers.

    ``archive`` keeps the file open for the next call; without one the file is opened and closed here.
    ``size_hint``, the bytes up to the next record the index knows of, sizes the first read; it
    changes only how the bytes are read, never what is read or checked.
    """
    opened = archive or OpenArchive()
    hinted = size_hint is not None and MIN_SIZE_HINT <= size_hint <= MAX_SIZE_HINT
    try:
        record, _ = inflate_member(opened.reader(path), offset, size_hint if hinted else FIRST_READ_BYTES)
        http_head, payload = _split_response(record)
        body = undo_content_encoding(payload, header_value(CONTENT_ENCODING, http_head) or "")
        return ArchivedResponse(body, header_value(TDM_RESERVATION, http_head), header_value(X_ROBOTS_TAG, http_head))
    except (OSError, zlib.error, WarcRecordError) as error:
        raise WarcRecordError(f"{path} at offset {offset}: {error}") from error
    finally:
        if archive is None:
            opened.close()


def _split_response(record: bytes) -> tuple[bytes, bytes]:
    """(HTTP head, payload) of a WARC response record whose block is exactly its Content-Length."""
    found = split_record(record)
    if found.warc_type != "response":
        raise WarcRecordError(f"expected a response record, found {found.warc_type or 'no WARC-Type'!r}")
    return split_http_response(found.block)
