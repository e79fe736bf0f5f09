"""WARC archive of every exchange, so extraction can be rerun without the network.

One WARC file per fetch batch, gzip per record (random access by offset), a
``warcinfo`` record first, then a ``request`` and a ``response`` record per exchange.
The file is written under a temporary name and renamed when its batch is committed.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.fetch.results import Exchange
from pipeline.shards import commit

SOFTWARE = "webtext-fetch/0.1 (warcio)"


class WarcBatchWriter:
    """Appends exchanges to one batch's WARC file; nothing is visible under its name until ``commit``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._temporary = path.with_name(f".{path.name}.tmp")
        self._file = open(self._temporary, "wb")  # closed by commit() or abort()
        self._writer = WARCWriter(self._file, gzip=True)
        info = self._writer.create_warcinfo_record(path.name, {"software": SOFTWARE, "format": "WARC/1.1"})
        self._writer.write_record(info)

    def write(self, exchange: Exchange) -> int:
        """Archive ``exchange``; returns the offset of its response record."""
        date = exchange.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        parts = urlsplit(exchange.url)
        target = parts.path or "/"
        request_line = f"GET {target}{'?' + parts.query if parts.query else ''} HTTP/1.1"
        request_headers = StatusAndHeaders(
            request_line, exchange.request_headers, protocol="HTTP/1.1", is_http_request=True
        )
        response_id = f"<urn:uuid:{uuid.uuid4()}>"
        request = self._writer.create_warc_record(
            exchange.url,
            "request",
            payload=io.BytesIO(b""),
            http_headers=request_headers,
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
        )
        headers = StatusAndHeaders(f"{exchange.status} {exchange.reason}", exchange.response_headers, "HTTP/1.1")
        response = self._writer.create_warc_record(
            exchange.url,
            "response",
            payload=io.BytesIO(exchange.body),
            http_headers=headers,
            warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": response_id},
        )
        self._writer.write_record(request)
        offset = self._file.tell()
        self._writer.write_record(response)
        return offset

    def commit(self) -> None:
        self._file.close()
        commit(self._temporary, self.path)

    def abort(self) -> None:
        self._file.close()
        self._temporary.unlink(missing_ok=True)


def read_response(path: Path, offset: int) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body with transfer and content encodings undone) of the record at ``offset``."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        record = next(iter(ArchiveIterator(handle)))
        if record.rec_type != "response":
            raise ValueError(f"{path}@{offset}: expected a response record, found {record.rec_type}")
        status = int(record.http_headers.get_statuscode())
        return status, list(record.http_headers.headers), record.content_stream().read()


def responses(path: Path) -> Iterator[tuple[str, int]]:
    """(target URL, offset) of every response record in a WARC file, in file order."""
    with open(path, "rb") as handle:
        iterator = ArchiveIterator(handle)
        for record in iterator:
            if record.rec_type == "response":
                yield record.rec_headers.get_header("WARC-Target-URI"), iterator.get_record_offset()
