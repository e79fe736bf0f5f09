"""Servers that stall, drip or flood: each ends as a counted outcome, fast and in bounded memory."""

from __future__ import annotations

import resource
import time

from pipeline.fetch.warc import read_response


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def test_server_silent_past_the_read_timeout_is_a_timeout(hostile, crawl) -> None:
    url = hostile.url("stall.test", "/slow-headers")
    started = time.monotonic()
    result = crawl([url], max_retries=0)
    assert result.outcomes() == {url: "timeout"}
    assert result.pages[url].attempts == 1 and result.pages[url].status is None
    assert time.monotonic() - started < 4  # the server would have answered after 5 s


def test_body_dripping_past_the_total_timeout_is_a_timeout(hostile, crawl) -> None:
    url = hostile.url("drip.test", "/drip")
    started = time.monotonic()
    result = crawl([url], max_retries=0)
    assert result.outcomes() == {url: "timeout"}
    assert time.monotonic() - started < 5  # the drip itself lasts 10 s and never idles for read_timeout_s


def test_timeout_is_retried_then_reported(hostile, crawl) -> None:
    url = hostile.url("stall-twice.test", "/slow-headers")
    result = crawl([url], max_retries=1)
    assert result.pages[url].outcome == "timeout" and result.pages[url].attempts == 2
    assert len(hostile.page_hits("stall-twice.test")) == 2


def test_body_cut_short_is_a_connection_error_not_a_page(hostile, crawl) -> None:
    url = hostile.url("truncated.test", "/truncated")
    result = crawl([url], max_retries=1)
    assert result.outcomes() == {url: "connection_error"}
    assert result.pages[url].attempts == 2 and result.pages[url].warc_file is None


def test_declared_gigabyte_is_too_large_without_reading_it(hostile, crawl) -> None:
    url = hostile.url("huge-declared.test", "/huge/declared")
    before = peak_rss_mb()
    result = crawl([url])
    assert result.outcomes() == {url: "too_large"}
    assert result.pages[url].status == 200 and result.pages[url].warc_file is None
    assert peak_rss_mb() - before < 100


def test_chunked_gigabyte_is_cut_off_at_max_bytes(hostile, crawl) -> None:
    url = hostile.url("huge-chunked.test", "/huge/chunked")
    before = peak_rss_mb()
    started = time.monotonic()
    result = crawl([url], max_bytes=2 << 20)
    assert result.outcomes() == {url: "too_large"}
    assert peak_rss_mb() - before < 100
    assert time.monotonic() - started < 5  # stopped after ~2 MiB, not after 1 GiB


def test_gzip_bomb_is_too_large_after_max_bytes_of_output(hostile, crawl) -> None:
    assert len(hostile.bomb) < 2 << 20  # ~1 MiB on the wire, > 1 GiB inflated
    url = hostile.url("bomb.test", "/gzip-bomb")
    before = peak_rss_mb()
    result = crawl([url])
    assert result.outcomes() == {url: "too_large"}
    assert peak_rss_mb() - before < 100


def test_gzip_page_is_archived_encoded_and_read_back_decoded(hostile, crawl) -> None:
    url = hostile.url("gzip.test", "/gzipped/article")
    result = crawl([url])
    record = result.pages[url]
    assert record.outcome == "ok" and record.bytes == len(hostile.body_of(url))
    status, headers, body = read_response(result.out / record.warc_file, record.warc_offset)
    assert status == 200 and ("Content-Encoding", "gzip") in headers  # archived as it came over the wire
    assert body == hostile.body_of(url)
