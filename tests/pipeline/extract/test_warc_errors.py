"""Damaged archives cost only the pages they damage: each becomes a counted ``warc_error``, the run completes.

The WARC files are the fetch fixtures' own (warcio's writer, gzip per record), damaged the way disks
and interrupted copies damage them: garbage over part of a record, a file cut short, an index
offset that points elsewhere, a Content-Length that does not match the record, a file gone.
"""

from __future__ import annotations

import gzip
import io
import pickle
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from extract_fixtures import FetchDirFactory, Page, page_from_route
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.extract.archive import OpenArchive, WarcRecordError, read_response_body
from pipeline.extract.config import ExtractConfig
from pipeline.extract.pages import PageHandler, read_sizes
from pipeline.extract.stage import run_extract
from pipeline.rejects import reject_counts, stage_rejects_dir
from pipeline.sample.web import Route
from pipeline.shards import complete_shards, write_shard

SHARD = "part-00000-00000"
CFG = ExtractConfig(workers=1)


@pytest.fixture
def articles(routes: list[Route]) -> list[Page]:
    return [page_from_route(route) for route in routes if route.role == "article"][:5]


@pytest.fixture
def fetch_dir(make_fetch_dir: FetchDirFactory, articles: list[Page]) -> Path:
    return make_fetch_dir({SHARD: articles})


def warc_of(fetch_dir: Path) -> Path:
    return fetch_dir / "warc" / f"{SHARD}.warc.gz"


def offsets(fetch_dir: Path) -> list[int]:
    return pq.read_table(fetch_dir / "pages" / f"{SHARD}.parquet")["warc_offset"].to_pylist()


def set_offsets(fetch_dir: Path, new_offsets: list[int]) -> None:
    shard = fetch_dir / "pages" / f"{SHARD}.parquet"
    table = pq.read_table(shard)
    column = table.schema.get_field_index("warc_offset")
    moved = table.set_column(column, "warc_offset", pa.array(new_offsets, pa.int64()))
    write_shard(moved, shard, shard_fingerprint="moved")


def kept_urls(out_dir: Path) -> list[str]:
    return [url for shard in complete_shards(out_dir) for url in pq.read_table(shard)["url"].to_pylist()]


def rejected_urls(out_dir: Path) -> list[str]:
    shards = complete_shards(stage_rejects_dir(out_dir, "extract") / "warc_error")
    return [url for shard in shards for url in pq.read_table(shard)["url"].to_pylist()]


def assert_only_damaged_pages_lost(out_dir: Path, articles: list[Page], damaged: set[int]) -> None:
    summary_counts = reject_counts(stage_rejects_dir(out_dir, "extract"))
    assert summary_counts == {"warc_error": len(damaged)}
    assert rejected_urls(out_dir) == [page.url for index, page in enumerate(articles) if index in damaged]
    assert kept_urls(out_dir) == [page.url for index, page in enumerate(articles) if index not in damaged]


def test_the_reader_gives_what_warcio_gives_on_an_intact_archive(fetch_dir: Path) -> None:
    expected = {}
    with open(warc_of(fetch_dir), "rb") as handle:
        iterator = ArchiveIterator(handle)
        for record in iterator:
            if record.rec_type == "response":
                body = record.content_stream().read()  # before the offset: reading that skips the content
                expected[iterator.get_record_offset()] = body
    assert {offset: read_response_body(warc_of(fetch_dir), offset) for offset in offsets(fetch_dir)} == expected


def test_the_read_size_from_the_index_changes_how_a_record_is_read_never_what(fetch_dir: Path) -> None:
    """The bytes up to the next indexed record size the first read; a size too small or too large (a damaged
    index) only means more reads or a longer one."""
    warc, starts = warc_of(fetch_dir), offsets(fetch_dir)
    sizes = read_sizes((str(warc), offset) for offset in starts)
    following = {start: min((other for other in starts if other > start), default=None) for start in starts}
    assert sizes == [None if following[start] is None else following[start] - start for start in starts]
    for offset, size in zip(starts, sizes, strict=True):
        expected = read_response_body(warc, offset)
        for hint in (size, 1, 600, 100_000, 10**9, None):
            assert read_response_body(str(warc), offset, None, hint) == expected
    assert read_sizes([("a", 300), ("b", 100), ("a", 100), ("a", 100)]) == [None, None, 200, 200]


def test_an_archive_kept_open_reads_the_same_bytes(fetch_dir: Path, make_fetch_dir: FetchDirFactory) -> None:
    other = make_fetch_dir({"part-00000-00009": []}) / "warc" / "part-00000-00009.warc.gz"  # switching files
    archive, warc = OpenArchive(), warc_of(fetch_dir)
    for offset in offsets(fetch_dir):
        assert read_response_body(warc, offset, archive) == read_response_body(warc, offset)
        with pytest.raises(WarcRecordError, match="no gzip member starts here"):
            read_response_body(other, 0, archive)
    archive.close()
    handler = pickle.loads(pickle.dumps(PageHandler(ExtractConfig().page_rules())))
    assert handler.rules == ExtractConfig().page_rules()


def test_garbage_in_the_middle_of_one_record(fetch_dir: Path, articles: list[Page], tmp_path: Path) -> None:
    starts = offsets(fetch_dir)
    data = bytearray(warc_of(fetch_dir).read_bytes())
    middle = (starts[2] + starts[3]) // 2  # inside the third page's response member
    data[middle : middle + 64] = b"garbage\xff" * 8  # overwritten, not inserted: later offsets hold
    warc_of(fetch_dir).write_bytes(bytes(data))
    summary = run_extract(fetch_dir, tmp_path / "out", CFG)
    assert summary.outcomes == {"warc_error": 1} and summary.counts["documents"] == 4
    assert_only_damaged_pages_lost(tmp_path / "out", articles, {2})


def test_a_file_cut_short(fetch_dir: Path, articles: list[Page], tmp_path: Path) -> None:
    data = warc_of(fetch_dir).read_bytes()
    warc_of(fetch_dir).write_bytes(data[: (offsets(fetch_dir)[4] + len(data)) // 2])  # inside the last response
    summary = run_extract(fetch_dir, tmp_path / "out", CFG)
    assert summary.outcomes == {"warc_error": 1}
    assert_only_damaged_pages_lost(tmp_path / "out", articles, {4})


def test_offsets_that_point_anywhere_but_a_response(fetch_dir: Path, articles: list[Page], tmp_path: Path) -> None:
    starts = offsets(fetch_dir)
    size = warc_of(fetch_dir).stat().st_size
    # inside a gzip member; at a request record; past the end of the file
    set_offsets(fetch_dir, [starts[0], starts[1] + 7, 0, starts[3], size + 100])
    summary = run_extract(fetch_dir, tmp_path / "out", CFG)
    assert summary.outcomes == {"warc_error": 3} and summary.units_done == 1
    assert_only_damaged_pages_lost(tmp_path / "out", articles, {1, 2, 4})


def test_a_missing_warc_file_loses_its_pages_only(
    make_fetch_dir: FetchDirFactory, articles: list[Page], tmp_path: Path
) -> None:
    fetch_dir = make_fetch_dir({SHARD: articles[:2], "part-00000-00001": articles[2:]})
    warc_of(fetch_dir).unlink()
    summary = run_extract(fetch_dir, tmp_path / "out", ExtractConfig(workers=2))
    assert summary.outcomes == {"warc_error": 2} and summary.counts["documents"] == 3
    assert kept_urls(tmp_path / "out") == [page.url for page in articles[2:]]


def test_damaged_records_are_named_by_the_reader(fetch_dir: Path, tmp_path: Path) -> None:
    warc, starts = warc_of(fetch_dir), offsets(fetch_dir)
    with pytest.raises(WarcRecordError, match=rf"{SHARD}\.warc\.gz at offset 0: expected a response record"):
        read_response_body(warc, 0)
    with pytest.raises(WarcRecordError, match="no gzip member starts here"):
        read_response_body(warc, starts[1] + 7)
    with pytest.raises(WarcRecordError, match="No such file"):
        read_response_body(tmp_path / "gone.warc.gz", 0)
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(warc.read_bytes()[: starts[1] + 200])
    with pytest.raises(WarcRecordError, match="truncated"):
        read_response_body(cut, starts[1])


@pytest.mark.parametrize("delta", [-300, 300])
def test_a_wrong_content_length_is_caught_not_read_past(fetch_dir: Path, tmp_path: Path, delta: int) -> None:
    """warcio reads on into the next record (or stops short) here; the page must not get those bytes."""
    data, starts = warc_of(fetch_dir).read_bytes(), offsets(fetch_dir)
    member_end = _member_end(data, starts[1])
    record = gzip.decompress(data[starts[1] : member_end])
    length = int(re.search(rb"Content-Length: (\d+)", record).group(1))  # type: ignore[union-attr]
    damaged = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % (length + delta), record, count=1)
    bad = tmp_path / "length.warc.gz"
    bad.write_bytes(data[: starts[1]] + gzip.compress(damaged) + data[member_end:])
    with pytest.raises(WarcRecordError, match=f"Content-Length says {length + delta} bytes, the record holds {length}"):
        read_response_body(bad, starts[1])


def _member_end(data: bytes, start: int) -> int:
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    inflater.decompress(data[start:])
    return len(data) - len(inflater.unused_data)


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda body: zlib.compress(body)[2:-4]),  # raw deflate, as many servers send it
        ("gzip, identity", lambda body: gzip.compress(body, mtime=0)),
    ],
)
def test_content_encodings_are_undone(tmp_path: Path, encoding: str, encode: Callable[[bytes], bytes]) -> None:
    body = b"<html><body><p>" + b"words " * 200 + b"</p></body></html>"
    path, offset = archive_one(tmp_path, encode(body), [("Content-Encoding", encoding)])
    assert read_response_body(path, offset) == body


def test_an_encoding_fetch_never_asks_for_is_a_warc_error(tmp_path: Path) -> None:
    path, offset = archive_one(tmp_path, b"\x0b\x02\x80hi\x03", [("Content-Encoding", "br")])
    with pytest.raises(WarcRecordError, match="unsupported Content-Encoding 'br'"):
        read_response_body(path, offset)


def archive_one(directory: Path, payload: bytes, headers: list[tuple[str, str]]) -> tuple[Path, int]:
    """A WARC file holding one response record (warcio's writer); returns its path and the record's offset."""
    path = directory / "one.warc.gz"
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), *headers], protocol="HTTP/1.1")
        record = writer.create_warc_record("http://a.test/", "response", payload=io.BytesIO(payload), http_headers=http)
        writer.write_record(record)
    return path, 0
