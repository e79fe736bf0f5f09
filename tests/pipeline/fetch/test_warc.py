"""The WARC files the crawler writes must satisfy an independent reader: warcio's own checker."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from pipeline.fetch.results import Exchange
from pipeline.fetch.warc import WarcBatchWriter, read_response, responses

BODY = "<html><head><title>Café</title></head><body><p>Déjà vu — naïve façade.</p></body></html>".encode()


def exchange(url: str, status: int = 200, body: bytes = BODY) -> Exchange:
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
    request_headers = [("Host", url.split("/")[2]), ("User-Agent", "webtext-test")]
    return Exchange(url, request_headers, status, "OK", headers, body, datetime(2019, 1, 5, tzinfo=UTC))


def test_written_records_pass_warcio_check_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "part-00000-00000.warc.gz"
    writer = WarcBatchWriter(path, gzip_level=1)
    offsets = {url: writer.write(exchange(url)) for url in ("http://a.test/1", "http://b.test/x?y=1")}
    writer.commit()
    check = subprocess.run(
        [str(Path(sys.executable).with_name("warcio")), "check", "-v", str(path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == 4 and "fail" not in check.stdout
    assert dict(responses(path)) == offsets
    for offset in offsets.values():
        status, headers, body = read_response(path, offset)
        assert status == 200 and body == BODY and ("Content-Type", "text/html; charset=utf-8") in headers


def test_records_are_warc_1_1_with_paired_ids(tmp_path: Path) -> None:
    path = tmp_path / "part-00000-00001.warc.gz"
    writer = WarcBatchWriter(path)
    writer.write(exchange("http://a.test/1"))
    writer.commit()
    with open(path, "rb") as handle:
        records = list(ArchiveIterator(io.BytesIO(handle.read())))
    assert [record.rec_type for record in records] == ["warcinfo", "request", "response"]
    assert all(record.rec_headers.protocol == "WARC/1.1" for record in records)
    request, response = records[1], records[2]
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response.rec_headers.get_header("WARC-Record-ID")


def test_uncommitted_writer_leaves_nothing(tmp_path: Path) -> None:
    writer = WarcBatchWriter(tmp_path / "part-00000-00002.warc.gz")
    writer.write(exchange("http://a.test/1"))
    writer.abort()
    assert list(tmp_path.iterdir()) == []
