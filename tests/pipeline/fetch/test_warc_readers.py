"""A fetch's WARC files as readers built for Common Crawl's archives read them: warcio's checker passes every
digest, and a consumer that keeps the responses whose ``WARC-Identified-Payload-Type`` is HTML (as datatrove's
stock WarcReader does) finds every fetched page with its body, and nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipeline.fetch.robots import ROBOTS_MAX_BYTES

HTML_TYPES = ("text/html", "application/xhtml+xml")  # what datatrove's WarcReader keeps
BIG_ROBOTS = "User-agent: *\nAllow: /\n" + "# a comment line that pads this robots.txt past its cap\n" * 12_000


@pytest.fixture
def fetched(hostile, crawl):
    """A crawl with a plain page, a gzip-encoded page, a redirect, a 404 and two robots.txt answers: a 404 and a
    200 whose body is over the 500 KiB fetch reads (so its record is cut)."""
    hostile.robots["cc-big.test"] = (200, BIG_ROBOTS)
    urls = [
        hostile.url("cc-a.test", "/page/plain"),
        hostile.url("cc-a.test", "/gzipped/encoded"),
        hostile.url("cc-a.test", "/redirect/chain/1"),
        hostile.url("cc-a.test", "/status/404"),
        hostile.url("cc-big.test", "/page/behind-a-big-robots-txt"),
    ]
    result = crawl(urls, concurrency=1)
    assert sorted(result.outcomes().values()) == ["http_404", "ok", "ok", "ok", "ok"]
    return result


def warc_files(result) -> list[Path]:
    files = sorted((result.out / "warc").glob("*.warc.gz"))
    assert files
    return files


def test_warcio_check_passes_every_digest(fetched) -> None:
    warcio = Path(sys.executable).with_name("warcio")
    for path in warc_files(fetched):
        check = subprocess.run([str(warcio), "check", "-v", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        with open(path, "rb") as handle:
            records = sum(record.rec_type in ("request", "response") for record in ArchiveIterator(handle))
        # one line per record, its block digest and (for a response) its payload digest both checked
        assert check.stdout.count("digest pass") == records and "fail" not in check.stdout


def response_records(result) -> list[dict]:
    """Every response record the way a Common Crawl consumer reads it, with the file's warcinfo record ID."""
    found = []
    for path in warc_files(result):
        with open(path, "rb") as handle:
            warcinfo_id = None
            for record in ArchiveIterator(handle):
                headers = record.rec_headers
                if record.rec_type == "warcinfo":
                    warcinfo_id = headers.get_header("WARC-Record-ID")
                if record.rec_type != "response":
                    continue
                found.append(
                    {
                        "url": headers.get_header("WARC-Target-URI"),
                        "status": int(record.http_headers.get_statuscode()),
                        "type": headers.get_header("WARC-Identified-Payload-Type"),
                        "truncated": headers.get_header("WARC-Truncated"),
                        "ip": headers.get_header("WARC-IP-Address"),
                        "warcinfo": headers.get_header("WARC-Warcinfo-ID") == warcinfo_id,
                        "body": record.content_stream().read(),
                    }
                )
    return found


def test_a_common_crawl_consumer_finds_every_page_by_its_payload_type(hostile, fetched) -> None:
    records = response_records(fetched)
    assert all(record["type"] for record in records), "a response record without WARC-Identified-Payload-Type"
    assert all(record["ip"] == "127.0.0.1" and record["warcinfo"] for record in records)
    pages = {record.final_url for record in fetched.pages.values() if record.outcome == "ok"}
    kept = {record["url"]: record["body"] for record in records if record["type"] in HTML_TYPES}
    assert kept == {url: hostile.body_of(url) for url in pages}  # the gzip-encoded page decoded, as served


def test_redirects_errors_and_robots_txt_are_archived_and_say_what_was_cut(hostile, fetched) -> None:
    by_url = {record["url"]: record for record in response_records(fetched)}
    hop = by_url[hostile.url("cc-a.test", "/redirect/chain/1")]
    # fetch does not read a redirect's body: its record is empty, says so, and has no type to identify
    assert (hop["status"], hop["type"], hop["truncated"], hop["body"]) == (
        302,
        "application/octet-stream",
        "length",
        b"",
    )
    missing = by_url[hostile.url("cc-a.test", "/status/404")]
    assert (missing["status"], missing["type"], missing["truncated"], missing["body"]) == (
        404,
        "text/plain",
        None,
        b"no",
    )
    no_robots = by_url[hostile.url("cc-a.test", "/robots.txt")]
    assert (no_robots["status"], no_robots["truncated"], no_robots["body"]) == (404, "length", b"")
    big = by_url[hostile.url("cc-big.test", "/robots.txt")]
    assert (big["status"], big["type"], big["truncated"]) == (200, "text/plain", "length")
    assert ROBOTS_MAX_BYTES <= len(big["body"]) < len(BIG_ROBOTS) and BIG_ROBOTS.encode().startswith(big["body"])
    robots = [url for url in by_url if urlsplit(url).path == "/robots.txt"]
    assert sorted(robots) == sorted(hostile.url(host, "/robots.txt") for host in ("cc-a.test", "cc-big.test"))
