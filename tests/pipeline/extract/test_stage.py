"""The extract stage over a fetch output directory: documents, rejects, counts, reruns and misbehaving pages."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from extract_fixtures import FetchDirFactory, Page, marked_pages, page_from_route

from pipeline.extract.config import ExtractConfig
from pipeline.extract.stage import run_extract
from pipeline.fetch.index import pages_stats
from pipeline.records import Document, FetchRecord, document_id, from_table
from pipeline.rejects import OrphanShardsError, reject_counts, stage_rejects_dir
from pipeline.sample.web import Route
from pipeline.shards import complete_shards, file_sha256, read_stats, stats_path, write_shard
from pipeline.stage import SUMMARY_FILE

CFG = ExtractConfig(workers=2)


def documents(out_dir: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(shard) for shard in complete_shards(out_dir)])


def shard_hashes(out_dir: Path) -> dict[str, str]:
    return {str(path.relative_to(out_dir)): file_sha256(path) for path in sorted(out_dir.rglob("part-*.parquet"))}


def rejected_urls(out_dir: Path, reason: str) -> set[str]:
    shards = complete_shards(stage_rejects_dir(out_dir, "extract") / reason)
    return {url for shard in shards for url in pq.read_table(shard)["url"].to_pylist()}


def urls_of(routes: list[Route], role: str) -> set[str]:
    return {route.url for route in routes if route.role == role}


def test_sample_pages_become_documents_or_counted_rejects(
    sample_fetch_dir: Path, routes: list[Route], tmp_path: Path
) -> None:
    out_dir = tmp_path / "extracted"
    summary = run_extract(sample_fetch_dir, out_dir, CFG)
    table = documents(out_dir)
    assert table.schema == Document.SCHEMA
    assert summary.counts["pages"] == summary.counts["not_fetched"] + summary.counts["documents"] + sum(
        summary.outcomes.values()
    )
    assert summary.counts["not_fetched"] == 6  # 404, 410, 500, connection refused, robots.txt (ours and GPTBot's)
    assert summary.counts["documents"] == table.num_rows == 36
    assert summary.outcomes == {"not_text": 2, "too_short": 3, "tdm_reserved": 2, "robots_noai": 1}
    assert summary.counts["charset_detected"] == 1
    assert summary.details["shards"] == ["part-00000-00000.parquet", "part-00000-00001.parquet"]
    assert (summary.units_done, summary.units_skipped) == (2, 0)
    assert reject_counts(stage_rejects_dir(out_dir, "extract")) == summary.outcomes
    assert rejected_urls(out_dir, "too_short") == urls_of(routes, "thin")
    assert rejected_urls(out_dir, "not_text") == urls_of(routes, "binary_as_html") | urls_of(routes, "not_html")
    reserved = urls_of(routes, "tdm_reserved_by_site_file") | urls_of(routes, "tdm_reserved_by_header")
    assert rejected_urls(out_dir, "tdm_reserved") == reserved
    assert rejected_urls(out_dir, "robots_noai") == urls_of(routes, "robots_noai")
    assert json.loads((out_dir / SUMMARY_FILE).read_text()) == json.loads(json.dumps(summary.as_json()))


def test_documents_carry_their_page_metadata_in_pages_shard_order(
    sample_fetch_dir: Path, sample_pages: list[Page], tmp_path: Path
) -> None:
    run_extract(sample_fetch_dir, tmp_path / "out", CFG)
    rows = documents(tmp_path / "out").to_pylist()
    kept = {row["url"] for row in rows}
    assert [row["url"] for row in rows] == [page.url for page in sample_pages if page.url in kept]
    first = rows[0]
    assert first["id"] == document_id(first["url"]) and first["domain"] == "news.webtext.test"
    assert first["title"] == "The Bees on the Fourth Floor" and first["published"] == "2019-01-03"
    assert first["karma"] == sample_pages[0].karma and first["fetched_at"].year == 2019
    assert first["final_url"] == first["url"] and first["warc_file"] == "warc/part-00000-00000.warc.gz"
    assert first["language"] is None and first["quality_score"] is None
    by_url = {row["url"]: row for row in rows}
    assert "vélo" in by_url["http://world.webtext.test/fr/velo-cp1252"]["text"]
    assert by_url["http://blog.webtext.test/notes.txt"]["title"] is None


def test_documents_carry_the_first_seen_of_their_pages_row(
    make_fetch_dir: FetchDirFactory, routes: list[Route], tmp_path: Path
) -> None:
    articles = [page_from_route(route) for route in routes if route.role == "article"][:4]
    first_seen = datetime(2018, 6, 1, tzinfo=UTC)
    pages = [dataclasses.replace(page, first_seen=first_seen + timedelta(days=i)) for i, page in enumerate(articles)]
    run_extract(make_fetch_dir({"part-00000-00000": pages}), tmp_path / "out", CFG)
    by_url = {row["url"]: row["first_seen"] for row in documents(tmp_path / "out").to_pylist()}
    assert by_url == {page.url: page.first_seen for page in pages}


def test_pages_shards_written_before_first_seen_extract_with_none(
    make_fetch_dir: FetchDirFactory, routes: list[Route], tmp_path: Path
) -> None:
    pages = [page_from_route(route) for route in routes if route.role == "article"][:3]
    fetch_dir = make_fetch_dir({"part-00000-00000": pages})
    shard = fetch_dir / "pages" / "part-00000-00000.parquet"
    old_format = pq.read_table(shard).drop_columns(["first_seen"])
    write_shard(old_format, shard, shard_fingerprint="before-first-seen")
    summary = run_extract(fetch_dir, tmp_path / "out", CFG)
    table = documents(tmp_path / "out")
    assert summary.counts["documents"] == table.num_rows == 3 and table.schema == Document.SCHEMA
    assert table["first_seen"].null_count == 3


def test_rejects_are_the_fetch_records_of_the_dropped_pages(sample_fetch_dir: Path, tmp_path: Path) -> None:
    run_extract(sample_fetch_dir, tmp_path, CFG)
    shard = stage_rejects_dir(tmp_path, "extract") / "too_short" / "part-00000-00001.parquet"
    table = pq.read_table(shard)
    assert table.schema == FetchRecord.SCHEMA
    assert set(table["outcome"].to_pylist()) == {"ok"} and stats_path(shard).exists()


def test_rerun_skips_finished_shards_and_gives_the_same_bytes(sample_fetch_dir: Path, tmp_path: Path) -> None:
    first = run_extract(sample_fetch_dir, tmp_path, CFG)
    before = shard_hashes(tmp_path)
    marker = stats_path(tmp_path / "part-00000-00000.parquet")
    marker_mtime = marker.stat().st_mtime_ns
    again = run_extract(sample_fetch_dir, tmp_path, ExtractConfig(workers=1))  # workers change speed only
    assert (again.units_done, again.units_skipped) == (0, 2)
    assert shard_hashes(tmp_path) == before
    assert marker.stat().st_mtime_ns == marker_mtime
    assert (again.counts["documents"], again.outcomes) == (first.counts["documents"], first.outcomes)


def test_a_run_killed_midway_is_finished_by_a_rerun_with_the_same_bytes(sample_fetch_dir: Path, tmp_path: Path) -> None:
    run_extract(sample_fetch_dir, tmp_path, CFG)
    before = shard_hashes(tmp_path)
    # What a kill leaves: one shard never marked complete, a temporary beside it.
    stats_path(tmp_path / "part-00000-00001.parquet").unlink()
    (tmp_path / ".part-00000-00001.parquet.123.tmp").write_bytes(b"half a shard")
    again = run_extract(sample_fetch_dir, tmp_path, ExtractConfig(workers=1))
    assert (again.units_done, again.units_skipped) == (1, 1)
    assert shard_hashes(tmp_path) == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_changing_min_words_redoes_the_shards_and_their_rejects(
    sample_fetch_dir: Path, routes: list[Route], tmp_path: Path
) -> None:
    run_extract(sample_fetch_dir, tmp_path, CFG)
    relaxed = run_extract(sample_fetch_dir, tmp_path, ExtractConfig(min_words=0, workers=2))
    assert (relaxed.units_done, relaxed.units_skipped) == (2, 0)
    optouts = {"tdm_reserved": 2, "robots_noai": 1}
    assert relaxed.outcomes == {"not_text": 2, **optouts}
    assert urls_of(routes, "thin") <= set(documents(tmp_path)["url"].to_pylist())
    assert reject_counts(stage_rejects_dir(tmp_path, "extract")) == {"not_text": 2, **optouts}  # no stale too_short


def test_a_pages_shard_that_disappeared_takes_its_documents_with_it(sample_fetch_dir: Path, tmp_path: Path) -> None:
    run_extract(sample_fetch_dir, tmp_path, CFG)
    gone = sample_fetch_dir / "pages" / "part-00000-00001.parquet"
    stats_path(gone).unlink()
    gone.unlink()
    with pytest.raises(OrphanShardsError, match="part-00000-00001.parquet"):  # never deleted silently
        run_extract(sample_fetch_dir, tmp_path, CFG)
    assert len(list(tmp_path.glob("part-*.parquet"))) == 2
    summary = run_extract(sample_fetch_dir, tmp_path, CFG, replace=True)
    assert summary.details["shards"] == ["part-00000-00000.parquet"]
    assert [shard.name for shard in tmp_path.glob("part-*.parquet")] == ["part-00000-00000.parquet"]
    assert reject_counts(stage_rejects_dir(tmp_path, "extract")) == summary.outcomes


def test_hanging_raising_and_crashing_pages_are_counted_and_the_shards_complete(
    make_fetch_dir: FetchDirFactory, routes: list[Route], hooks: str, tmp_path: Path
) -> None:
    pages = marked_pages(routes, ["hang-here", "raise-here", "crash-here", "hang-here"])
    fetch_dir = make_fetch_dir({"part-00001-00000": pages[:7], "part-00001-00001": pages[7:]})
    # 4 s: well above a real page's extraction on a loaded 2-core machine (1 s made ordinary pages time out)
    cfg = ExtractConfig(page_timeout_s=4.0, workers=2, extractor=f"{hooks}:misbehave")
    started = time.monotonic()
    summary = run_extract(fetch_dir, tmp_path / "out", cfg)
    assert time.monotonic() - started < 60
    assert summary.outcomes == {"extractor_error": 2, "timeout": 2}
    assert summary.counts["documents"] == len(pages) - 4 and summary.units_done == 2
    assert rejected_urls(tmp_path / "out", "timeout") == {pages[0].url, pages[9].url}
    assert rejected_urls(tmp_path / "out", "extractor_error") == {pages[3].url, pages[6].url}
    kept = documents(tmp_path / "out")["url"].to_pylist()
    assert kept == [page.url for page in pages if "-here" not in page.url]


def test_an_extractor_that_finds_nothing_counts_extraction_failed(
    make_fetch_dir: FetchDirFactory, routes: list[Route], hooks: str, tmp_path: Path
) -> None:
    fetch_dir = make_fetch_dir({"part-00000-00000": marked_pages(routes, [])[:3]})
    summary = run_extract(fetch_dir, tmp_path / "out", ExtractConfig(workers=1, extractor=f"{hooks}:nothing"))
    assert summary.outcomes == {"extraction_failed": 3} and summary.counts["documents"] == 0
    assert pq.read_table(tmp_path / "out" / "part-00000-00000.parquet").schema == Document.SCHEMA


def test_content_encoding_is_undone_when_reading_the_archive(
    make_fetch_dir: FetchDirFactory, routes: list[Route], tmp_path: Path
) -> None:
    page = page_from_route(next(route for route in routes if route.role == "article"), gzip_encoded=True)
    summary = run_extract(make_fetch_dir({"part-00000-00000": [page]}), tmp_path / "out", CFG)
    assert summary.counts["documents"] == 1


def test_an_ok_row_without_an_archive_location_is_an_error_naming_the_shard(
    make_fetch_dir: FetchDirFactory, routes: list[Route], tmp_path: Path
) -> None:
    fetch_dir = make_fetch_dir({"part-00000-00000": marked_pages(routes, [])[:2]})
    shard = fetch_dir / "pages" / "part-00000-00000.parquet"
    table = pq.read_table(shard)
    broken = table.set_column(7, "warc_offset", pa.array([None, 1], pa.int64()))
    write_shard(broken, shard, shard_fingerprint="no-location")
    with pytest.raises(ValueError, match=r"part-00000-00000\.parquet row 0 .* has no WARC location"):
        run_extract(fetch_dir, tmp_path / "out", ExtractConfig(workers=1))
    assert not list((tmp_path / "out").glob("part-*"))


def test_workers_import_neither_the_parents_main_nor_its_heavy_libraries(
    make_fetch_dir: FetchDirFactory, routes: list[Route], hooks: str, tmp_path: Path
) -> None:
    """A worker's start-up stays cheap: nothing of the parent's ``__main__`` (a flow, the CLI), no pydantic."""
    fetch_dir = make_fetch_dir({"part-00000-00000": marked_pages(routes, [])[:1]})
    run_extract(fetch_dir, tmp_path / "out", ExtractConfig(workers=1, min_words=0, extractor=f"{hooks}:loaded_modules"))
    modules = set(documents(tmp_path / "out")["text"][0].as_py().split())
    assert {"pipeline", "extract_test_hooks"} <= modules
    assert not modules & {"_pytest", "pytest", "pydantic", "pyarrow", "warcio", "fsspec", "prefect"}


def test_missing_inputs_are_errors_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        run_extract(tmp_path / "nowhere", tmp_path / "out", CFG)
    (tmp_path / "not-a-fetch").mkdir()
    with pytest.raises(FileNotFoundError, match=r"not-a-fetch has no pages/"):
        run_extract(tmp_path / "not-a-fetch", tmp_path / "out", CFG)


def test_an_extractor_that_cannot_be_imported_is_an_error_naming_it(sample_fetch_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="extractor: cannot import 'no_such_module:extract'"):
        run_extract(sample_fetch_dir, tmp_path, ExtractConfig(extractor="no_such_module:extract"))


def test_the_bytes_do_not_depend_on_the_number_of_workers(sample_fetch_dir: Path, tmp_path: Path) -> None:
    run_extract(sample_fetch_dir, tmp_path / "one", ExtractConfig(workers=1))
    run_extract(sample_fetch_dir, tmp_path / "two", ExtractConfig(workers=2))
    assert shard_hashes(tmp_path / "one") == shard_hashes(tmp_path / "two")


def test_progress_reaches_every_page(sample_fetch_dir: Path, sample_pages: list[Page], tmp_path: Path) -> None:
    seen: list[tuple[str, int | None, int]] = []

    @contextmanager
    def recording(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
        yield lambda position: seen.append((label, total, position))

    run_extract(sample_fetch_dir, tmp_path, CFG, progress=recording)
    assert seen[-1] == ("extract pages", len(sample_pages), len(sample_pages))
    assert [position for _, _, position in seen] == sorted(position for _, _, position in seen)


def test_a_karma_grown_after_the_fetch_reaches_the_documents_without_extracting_again(
    sample_fetch_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "extracted"
    first = run_extract(sample_fetch_dir, out, CFG)
    assert first.counts["karma_refreshed"] == 0
    untouched = stats_path(out / "part-00000-00000.parquet").stat().st_mtime_ns
    pages_shard = sample_fetch_dir / "pages" / "part-00000-00001.parquet"  # its rows include failures and rejects
    (kept, dropped) = grow_karma(pages_shard, out, by=100)  # as fetch's refresh_karma writes the pages rows

    refreshed = run_extract(sample_fetch_dir, out, CFG)
    assert (refreshed.units_done, refreshed.units_skipped) == (0, 2)  # nothing extracted again
    assert refreshed.counts["karma_refreshed"] == 1 and dropped  # the other row's karma changes no document
    karma = dict(zip(documents(out)["url"].to_pylist(), documents(out)["karma"].to_pylist(), strict=True))
    assert karma[kept.url] == kept.karma + 100
    assert stats_path(out / "part-00000-00000.parquet").stat().st_mtime_ns == untouched
    fresh = run_extract(sample_fetch_dir, tmp_path / "fresh", CFG)  # what a first extraction of these pages writes
    assert {name: digest for name, digest in shard_hashes(out).items() if "/" not in name} == {
        name: digest for name, digest in shard_hashes(tmp_path / "fresh").items() if "/" not in name
    }
    assert fresh.counts["documents"] == refreshed.counts["documents"]

    again = run_extract(sample_fetch_dir, out, CFG)
    assert again.counts["karma_refreshed"] == 0 and again.units_done == 0


def grow_karma(pages_shard: Path, extracted: Path, by: int) -> tuple[FetchRecord, str]:
    """Add ``by`` to the karma of one pages row that became a document and of one that did not; returns the first
    (before) and the second's URL."""
    table = pq.read_table(pages_shard)
    extracted_urls = set(pq.read_table(extracted / pages_shard.name)["url"].to_pylist())
    rows = list(from_table(table, FetchRecord))
    kept = next(row for row in rows if row.url in extracted_urls)
    dropped = next(row.url for row in rows if row.url not in extracted_urls)  # not fetched, or rejected
    karma = [row.karma + by if row.url in {kept.url, dropped} else row.karma for row in rows]
    table = table.set_column(table.schema.get_field_index("karma"), "karma", pa.array(karma, type=pa.int64()))
    table = table.cast(FetchRecord.SCHEMA)
    stats = read_stats(pages_shard) or {}
    write_shard(table, pages_shard, shard_fingerprint=stats["fingerprint"], extra_stats=pages_stats(table))
    return kept, dropped
