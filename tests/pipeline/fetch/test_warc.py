"""The WARC files the crawler writes satisfy an independent reader (warcio's checker); damaged records are skipped
and named by our own reader, never read past."""

from __future__ import annotations

import asyncio
import gzip
import io
import re
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipeline.fetch.replay import WarcReplayFetcher
from pipeline.fetch.results import Exchange
from pipeline.fetch.warc import WarcBatchWriter, read_response, responses
from pipeline.warc_members import WarcRecordError

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
    info, request, response = records
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response.rec_headers.get_header("WARC-Record-ID")
    assert response.rec_headers.get_header("WARC-Concurrent-To") == request.rec_headers.get_header("WARC-Record-ID")
    warcinfo_id = info.rec_headers.get_header("WARC-Record-ID")
    assert [record.rec_headers.get_header("WARC-Warcinfo-ID") for record in (request, response)] == [warcinfo_id] * 2


def test_uncommitted_writer_leaves_nothing(tmp_path: Path) -> None:
    writer = WarcBatchWriter(tmp_path / "part-00000-00002.warc.gz")
    writer.write(exchange("http://a.test/1"))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def damaged_archive(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """Three pages; the second's response member has garbage in its compressed bytes, the third's (re-gzipped,
    so its CRC holds) claims 10 more bytes than it has: the damage warcio reads straight past."""
    path = tmp_path / "part-00000-00003.warc.gz"
    writer = WarcBatchWriter(path, gzip_level=1)
    urls = ["http://a.test/1", "http://b.test/2", "http://c.test/3"]
    offsets = {url: writer.write(exchange(url, body=BODY + url.encode())) for url in urls}
    writer.commit()
    data = bytearray(path.read_bytes())
    second = offsets[urls[1]]
    data[second + 30 : second + 60] = b"\x00" * 30
    third = offsets[urls[2]]
    record = zlib.decompress(bytes(data[third:]), zlib.MAX_WBITS | 16)
    length = int(re.search(rb"Content-Length: (\d+)", record).group(1))
    lying = record.replace(f"Content-Length: {length}".encode(), f"Content-Length: {length + 10}".encode(), 1)
    path.write_bytes(bytes(data[:third]) + gzip.compress(lying))
    return path, offsets


def test_a_damaged_record_is_skipped_and_named_never_read_past(tmp_path: Path) -> None:
    path, offsets = damaged_archive(tmp_path)
    damaged: list[tuple[int, str]] = []
    assert list(responses(path, damaged)) == [("http://a.test/1", offsets["http://a.test/1"])]
    assert [offset for offset, _ in damaged][:1] == [offsets["http://b.test/2"]]
    assert offsets["http://c.test/3"] in {offset for offset, _ in damaged}
    assert any("Content-Length says" in error for _, error in damaged)
    assert read_response(path, offsets["http://a.test/1"])[2] == BODY + b"http://a.test/1"
    for url in ("http://b.test/2", "http://c.test/3"):
        with pytest.raises(WarcRecordError, match=rf"{path.name} at offset {offsets[url]}: "):
            read_response(path, offsets[url])


def test_the_replay_counts_damaged_records_and_goes_on(tmp_path: Path) -> None:
    path, offsets = damaged_archive(tmp_path)
    replay = WarcReplayFetcher([path])
    assert {offset for _, offset, _ in replay.damaged} >= {offsets["http://b.test/2"], offsets["http://c.test/3"]}
    outcomes = {url: asyncio.run(replay.fetch(url)).outcome for url in offsets}
    assert outcomes == {"http://a.test/1": "ok", "http://b.test/2": "not_archived", "http://c.test/3": "not_archived"}

    intact = tmp_path / "intact" / "part-00000-00004.warc.gz"
    intact.parent.mkdir()
    writer = WarcBatchWriter(intact, gzip_level=1)
    offset = writer.write(exchange("http://d.test/4"))
    writer.commit()
    indexed = WarcReplayFetcher([intact])
    data = bytearray(intact.read_bytes())
    data[offset + 30 : offset + 60] = b"\x00" * 30  # damaged after it was indexed
    intact.write_bytes(bytes(data))
    assert asyncio.run(indexed.fetch("http://d.test/4")).outcome == "warc_error"
