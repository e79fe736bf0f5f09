"""Blocklist files: their format, what an entry matches, the counts per list, and what a rerun does with an edit."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.cli import main
from pipeline.harvest.blocklists import NOT_LISTED, Blocklists, load_blocklists, read_blocklist
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.dumps import DumpSource
from pipeline.harvest.stage import SCAN_DIR, run_harvest
from pipeline.report.funnel import harvest_rows
from pipeline.sample.reddit import ndjson_lines, pushshift_submission, write_dump
from pipeline.shards import complete_shards, file_sha256
from pipeline.urls import normalise_with_host


def write_list(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def verdicts(lists: Blocklists, raw_urls: list[str]) -> list[int]:
    """The list index blocking each URL (``NOT_LISTED``: none), the URLs normalised as harvest does."""
    normalised = [normalise_with_host(url) for url in raw_urls]
    urls = pa.array([url for url, _ in normalised])
    domains = pa.array([host.removeprefix("www.") for _, host in normalised])
    return lists.verdicts(urls, domains).tolist()


def blocked(tmp_path: Path, text: str, raw_urls: list[str]) -> list[bool]:
    lists = Blocklists([read_blocklist(write_list(tmp_path, "list.txt", text))])
    return [verdict != NOT_LISTED for verdict in verdicts(lists, raw_urls)]


def test_comments_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    text = "\ufeff# ads we never want\n\nads.test   # trailing comment\n   \n  # indented comment\nnews.test/paid/#x\n"
    blocklist = read_blocklist(write_list(tmp_path, "lists/ads.txt", text))
    assert blocklist.name == "ads" and blocklist.domains == {"ads.test"}
    assert sorted(pattern.canonical() for pattern in blocklist.patterns) == [
        "http://news.test/paid/",
        "https://news.test/paid/",
    ]
    edited = read_blocklist(write_list(tmp_path, "again/ads.txt", "news.test/paid/\n\nADS.test.  # other words\n"))
    assert edited.sha256 == blocklist.sha256  # comments, order and spelling aside, the same list


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("ads.test extra.test", "one entry a line"),
        ("*.ads.test", "takes no '\\*'"),
        ("ads.test:8080", "not a bare host name"),
        ("ads.test?x=1", "not a bare host name"),
        ("ftp://ads.test/pub/", "only http and https"),
        ("http://*.ads.test/x", "may not stand in a host"),
        ("http://ads.test:99999/x", "not a host name or URL harvest could keep"),
        ("http:///nohost", "not a host name or URL harvest could keep"),
        ("bad..host.test", "not a host name or URL harvest could keep"),
    ],
)
def test_a_malformed_line_is_named_by_file_and_line(tmp_path: Path, entry: str, message: str) -> None:
    path = write_list(tmp_path, "ads.txt", f"# fine so far\nok.test\n\n{entry}   # the bad one\n")
    with pytest.raises(ValueError, match=message) as error:
        read_blocklist(path)
    assert str(error.value).startswith(f"{path}:4: ")


def test_a_missing_or_binary_list_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere.txt"):
        read_blocklist(tmp_path / "nowhere.txt")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"ads.test\n\xff\xfe\n")
    with pytest.raises(ValueError, match="binary.txt.*not UTF-8"):
        read_blocklist(binary)


def test_two_lists_with_one_stem_are_refused_naming_both(tmp_path: Path) -> None:
    first, second = write_list(tmp_path, "a/ads.txt", "a.test\n"), write_list(tmp_path, "b/ads.list", "b.test\n")
    for attempt in (lambda: load_blocklists([first, second]), lambda: HarvestConfig(blocklists=(first, second))):
        with pytest.raises(ValueError, match="share the name 'ads'") as error:
            attempt()
        assert str(first) in str(error.value) and str(second) in str(error.value)


def test_a_domain_blocks_itself_and_its_subdomains_only(tmp_path: Path) -> None:
    urls = [
        "http://example.com/",
        "https://www.example.com/a",
        "https://deep.news.example.com/b?c=d",
        "http://EXAMPLE.COM./x",
        "https://notexample.com/",
        "https://example.com.au/",
        "https://example.co/",
        "https://example.com:8443/",
    ]
    expected = [True, True, True, True, False, False, False, True]
    assert blocked(tmp_path, "Example.COM\n", urls) == expected


def test_www_is_handled_as_the_built_in_rules_handle_it(tmp_path: Path) -> None:
    urls = [
        "https://example.com/",
        "https://mail.example.com/",
        "https://www.example.org/x/1",
        "http://example.org/x/2",
    ]
    assert blocked(tmp_path, "www.example.com\nwww.example.org/x/\n", urls) == [True, True, True, True]
    assert blocked(tmp_path, "example.org/x/\n", ["https://www.example.org/x/", "https://sub.example.org/x/"]) == [
        True,
        False,  # a URL pattern names one host, www. aside; a domain entry covers subdomains
    ]


def test_international_names_match_in_punycode(tmp_path: Path) -> None:
    urls = ["http://www.BÜCHER.de/x", "http://xn--bcher-kva.de/", "http://shop.bücher.de/", "http://bucher.de/"]
    assert blocked(tmp_path, "bücher.de\n", urls) == [True, True, True, False]
    assert blocked(tmp_path, "xn--bcher-kva.de/x\n", urls) == [True, False, False, False]


def test_url_patterns_are_prefixes_with_star_and_dollar(tmp_path: Path) -> None:
    text = "\n".join(
        [
            "news.test/sponsored/",  # a prefix on http and https
            "https://shop.test/cart",  # https only
            "blog.test/posts/*/print$",  # '*' spans anything, '$' ends the URL
            "http://wiki.test:8080/edit?",  # a port; '?' is literal
            "search.test/find?q=*&page=2",  # a query, with a '*'
            "track.test/landing?utm_source=x",  # tracking parameters are normalised away: the path is the pattern
        ]
    )
    cases = {
        "http://news.test/sponsored/best-mattress": True,
        "https://www.news.test/sponsored/": True,
        "https://news.test/sponsored": False,
        "https://news.test/Sponsored/x": False,  # paths are case-sensitive
        "https://shop.test/cart/3": True,
        "http://shop.test/cart/3": False,
        "https://blog.test/posts/2019/01/dinghy/print": True,
        "https://blog.test/posts/dinghy/print/2": False,
        "https://blog.test/posts/print": False,
        "http://wiki.test:8080/edit?page=Main": True,
        "http://wiki.test/edit?page=Main": False,
        "https://search.test/find?q=boats&page=2&lang=en": True,
        "https://search.test/find?page=2&q=boats": False,
        "https://track.test/landing?utm_source=reddit": True,
        "https://track.test/landing?id=3": True,
    }
    assert blocked(tmp_path, text, list(cases)) == list(cases.values())


def test_the_first_list_that_names_a_url_counts_it(tmp_path: Path) -> None:
    first = read_blocklist(write_list(tmp_path, "first.txt", "news.test/paid/\n"))
    second = read_blocklist(write_list(tmp_path, "second.txt", "news.test\npaid.test\n"))
    urls = ["https://news.test/paid/1", "https://news.test/free/1", "https://paid.test/", "https://free.test/"]
    assert verdicts(Blocklists([first, second]), urls) == [0, 1, 1, NOT_LISTED]
    assert verdicts(Blocklists([second, first]), urls) == [0, 0, 0, NOT_LISTED]


def submissions_dump(directory: Path, name: str, rows: list[tuple[str, int]]) -> Path:
    records = [
        pushshift_submission(id=f"{name}{index}", url=url, score=score, created_utc=1546300800 + index, subreddit="s")
        for index, (url, score) in enumerate(rows)
    ]
    return write_dump(directory / f"{name}.ndjson", ndjson_lines(records))


def kept_urls(out_dir: Path) -> set[str]:
    return {url for shard in complete_shards(out_dir) for url in pq.read_table(shard)["url"].to_pylist()}


def test_hits_are_counted_per_list_per_input_and_in_the_funnel(tmp_path: Path) -> None:
    january = submissions_dump(
        tmp_path,
        "RS_jan",
        [("https://ads.test/a", 9), ("https://news.test/paid/1", 9), ("https://news.test/free/1", 9)],
    )
    february = submissions_dump(tmp_path, "RS_feb", [("https://x.ads.test/b", 9), ("https://i.imgur.com/c", 9)])
    ads = write_list(tmp_path, "lists/ads.txt", "ads.test\nimgur.com  # the built-in rule counts first\n")
    paid = write_list(tmp_path, "lists/paid.txt", "news.test/paid/\n")
    cfg = HarvestConfig(n_buckets=2, blocklists=(ads, paid))
    summary = run_harvest([DumpSource(january), DumpSource(february)], tmp_path / "out", cfg)
    assert summary.outcomes == {"kept": 1, "blocklisted:ads": 2, "blocklisted:paid": 1, "blocked_domain": 1}
    by_source = {source["source"]: source["outcomes"] for source in summary.details["sources"]}
    assert by_source == {
        "RS_jan": {"kept": 1, "blocklisted:ads": 1, "blocklisted:paid": 1},
        "RS_feb": {"blocklisted:ads": 1, "blocked_domain": 1},
    }
    assert kept_urls(tmp_path / "out") == {"https://news.test/free/1"}
    assert [entry["name"] for entry in summary.details["blocklists"]] == ["ads", "paid"]
    assert summary.details["blocklists"][0]["domains"] == 2 and summary.details["blocklists"][1]["url_patterns"] == 2
    lines_row = harvest_rows(summary)[0]
    assert lines_row.count_in == summary.counts["lines"] == 5 and lines_row.count_out == 1
    assert lines_row.dropped == {"blocklisted:ads": 2, "blocklisted:paid": 1, "blocked_domain": 1}


def test_an_edited_list_applies_on_the_next_run_without_rescanning(tmp_path: Path) -> None:
    dump = DumpSource(submissions_dump(tmp_path, "RS_jan", [(f"https://site{n}.test/story", 5) for n in range(8)]))
    out = tmp_path / "out"
    plain = run_harvest([dump], out, HarvestConfig(n_buckets=4))
    before = {shard.name: file_sha256(shard) for shard in complete_shards(out)}
    marker = out / SCAN_DIR / dump.name / "scan.json"
    scanned = marker.stat().st_mtime_ns
    listing = write_list(tmp_path, "mine.txt", "# nothing yet\n")
    empty = run_harvest([dump], out, HarvestConfig(n_buckets=4, blocklists=(listing,)))
    assert empty.units_skipped == 0 and empty.outcomes == plain.outcomes  # a new list: every bucket decided again

    write_list(tmp_path, "mine.txt", "site3.test\nsite5.test/story\n")
    added = run_harvest([dump], out, HarvestConfig(n_buckets=4, blocklists=(listing,)))
    assert added.outcomes == {"kept": 6, "blocklisted:mine": 2} and added.counts["urls_kept"] == 6
    assert kept_urls(out) == {f"https://site{n}.test/story" for n in range(8)} - {
        "https://site3.test/story",
        "https://site5.test/story",
    }
    assert marker.stat().st_mtime_ns == scanned  # the dump was not read again

    write_list(tmp_path, "mine.txt", "site3.test   # site5 is back\n# a comment changes nothing\n")
    removed = run_harvest([dump], out, HarvestConfig(n_buckets=4, blocklists=(listing,)))
    assert removed.outcomes == {"kept": 7, "blocklisted:mine": 1} and "https://site5.test/story" in kept_urls(out)
    write_list(tmp_path, "mine.txt", "SITE3.test.\n")
    respelled = run_harvest([dump], out, HarvestConfig(n_buckets=4, blocklists=(listing,)))
    assert respelled.units_skipped == 4 and respelled.outcomes == removed.outcomes

    again = run_harvest([dump], out, HarvestConfig(n_buckets=4))  # no list: the first harvest's bytes again
    assert {shard.name: file_sha256(shard) for shard in complete_shards(out)} == before
    assert again.outcomes == plain.outcomes and marker.stat().st_mtime_ns == scanned


def test_the_cli_reads_lists_and_names_a_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dump = submissions_dump(tmp_path, "RS_jan", [("https://ads.test/a", 9), ("https://news.test/b", 9)])
    good = write_list(tmp_path, "ads.txt", "ads.test\n")
    assert main(["harvest", str(dump), "--out", str(tmp_path / "out"), "--blocklist", str(good), "--quiet"]) == 0
    assert "blocklisted:ads" in capsys.readouterr().out
    bad = write_list(tmp_path, "bad.txt", "ok.test\n*.ads.test\n")
    assert main(["harvest", str(dump), "--out", str(tmp_path / "out2"), "--blocklist", str(bad), "--quiet"]) == 2
    assert f"{bad}:2:" in capsys.readouterr().err
    assert not (tmp_path / "out2").exists()  # a bad list fails before anything is written
