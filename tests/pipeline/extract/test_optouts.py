"""Site opt-outs: a page reserved by TDMRep (site file, header or meta tag) or marked robots noai becomes no
document."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from extract_fixtures import FetchDirFactory, Page, page_from_route

from pipeline.extract.config import ExtractConfig
from pipeline.extract.html_text import (
    ROBOTS_NOAI,
    TDM_RESERVED,
    PageRules,
    extract_page,
    header_optout,
    optout_reason,
    tdm_reservation,
)
from pipeline.extract.stage import run_extract
from pipeline.rejects import stage_rejects_dir
from pipeline.sample.web import Route
from pipeline.shards import complete_shards

RULES = ExtractConfig().page_rules()
HEAD = "<html><head><title>A post</title>{meta}</head><body><p>{body}</p></body></html>"


def page_with(meta: str, body: str = "An ordinary paragraph about boats.") -> str:
    return HEAD.format(meta=meta, body=body)


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        ('<meta name="tdm-reservation" content="1">', TDM_RESERVED),
        ("<META NAME='TDM-Reservation' CONTENT='1' />", TDM_RESERVED),
        ("<meta content=1 name=tdm-reservation>", TDM_RESERVED),
        ('<meta name="tdm-reservation" content="0">', None),  # explicitly not reserved
        ('<meta name="robots" content="noai">', ROBOTS_NOAI),
        ('<meta name="robots" content="index, follow, NoImageAI">', ROBOTS_NOAI),
        ('<meta name="robots" content="noindex,noai">', ROBOTS_NOAI),
        ('<meta name="robots" content="noindex, nofollow">', None),
        ('<meta name="googlebot" content="noai">', None),  # only the robots meta speaks for every crawler
        ('<meta name="description" content="why we say noai to crawlers">', None),
        ("", None),
    ],
)
def test_meta_tags_that_opt_a_page_out(meta: str, reason: str | None) -> None:
    assert optout_reason(page_with(meta), RULES) == reason


def test_the_words_in_the_text_alone_opt_nothing_out() -> None:
    body = 'Sites now add &lt;meta name="robots" content="noai"&gt; and a tdm-reservation header.'
    assert optout_reason(page_with("", body), RULES) is None


@pytest.mark.parametrize(
    ("robots_tag", "reason"),
    [
        ("noindex, NoAI", ROBOTS_NOAI),
        ("noimageai", ROBOTS_NOAI),
        ("otherbot: noai", None),  # names another crawler
        ("noindex, nofollow", None),
        (None, None),
    ],
)
def test_x_robots_tag_headers_that_opt_a_page_out(robots_tag: str | None, reason: str | None) -> None:
    assert header_optout(robots_tag, RULES) == reason


@pytest.mark.parametrize(
    ("header", "site_file", "meta", "reserved"),
    [
        ("1", None, "", True),
        (" 1 ", None, "", True),
        ("0", None, "", False),
        (None, 1, "", True),  # the site's tdmrep.json alone
        (None, 0, "", False),
        ("0", 1, "", False),  # the header supersedes the site file
        ("1", 0, "", True),
        ("yes", 1, "", True),  # a header that is neither 1 nor 0 resets nothing
        ("1", None, '<meta name="tdm-reservation" content="0">', False),  # the meta tag supersedes both
        (None, 1, '<meta name="tdm-reservation" content="0">', False),
        ("0", 0, '<meta name="tdm-reservation" content="1">', True),
        (None, None, "", False),
    ],
)
def test_tdmrep_layers_site_file_then_header_then_meta(
    header: str | None, site_file: int | None, meta: str, reserved: bool
) -> None:
    """TDMRep's processing priority: each later declaration supersedes an earlier one; an absent one keeps it."""
    reservation = tdm_reservation(header, site_file)
    assert (optout_reason(page_with(meta), RULES, reservation) == TDM_RESERVED) is reserved
    article = page_with(meta, "A long enough paragraph about boats and the harbour they sail from. " * 20).encode()
    result = extract_page(article, "text/html", "utf-8", "http://news.test/a", RULES, reservation)
    assert (result == TDM_RESERVED) is reserved


def test_a_reserved_plain_text_page_is_no_document() -> None:
    text = b"A plain text file of notes about boats and harbours, long enough to be kept. " * 20
    assert extract_page(text, "text/plain", "utf-8", None, RULES, tdm_reservation(None, 1)) == TDM_RESERVED
    assert extract_page(text, "text/plain", "utf-8", None, RULES, tdm_reservation("0", 1)) != TDM_RESERVED


def test_each_rule_can_be_turned_off() -> None:
    reserved, noai = (
        page_with('<meta name="tdm-reservation" content="1">'),
        page_with("<meta name=robots content=noai>"),
    )
    assert optout_reason(reserved, dataclasses.replace(RULES, honour_tdm_reservation=False)) is None
    assert optout_reason(noai, dataclasses.replace(RULES, honour_noai=False)) is None
    assert optout_reason(noai, dataclasses.replace(RULES, honour_tdm_reservation=False)) == ROBOTS_NOAI
    assert isinstance(RULES, PageRules) and RULES.honour_tdm_reservation and RULES.honour_noai  # on by default


def opted_out_pages(routes: list[Route]) -> dict[str, Page]:
    """Five of the sample's articles, each opted out one way (the site's tdmrep.json, the TDMRep header, its meta
    tag, robots noai as a meta tag and as a header), and one kept although its site file reserves it (its header
    says 0)."""
    articles = [page_from_route(route) for route in routes if route.role == "article"][:6]
    site_file, header, meta, noai, noai_header, kept = articles
    site_file.tdm_file_reservation = 1
    kept.tdm_file_reservation, kept.headers = 1, (("TDM-Reservation", "0"),)
    header.headers = (("TDM-Reservation", "1"),)
    noai_header.headers = (("X-Robots-Tag", "noai"),)
    meta.body = meta.body.replace(b"<head>", b'<head><meta name="tdm-reservation" content="1">', 1)
    noai.body = noai.body.replace(b"<head>", b'<head><meta name="robots" content="noindex, noai">', 1)
    assert b'content="1"' in meta.body and b"noai" in noai.body, "the sample's articles lost their <head>"
    return {
        "site_file": site_file,
        "header": header,
        "meta": meta,
        "noai": noai,
        "noai_header": noai_header,
        "kept": kept,
    }


def rejected(out_dir: Path, reason: str) -> set[str]:
    shards = complete_shards(stage_rejects_dir(out_dir, "extract") / reason)
    return {url for shard in shards for url in pq.read_table(shard)["url"].to_pylist()}


def test_opted_out_pages_become_no_documents_and_their_rows_are_kept(
    make_fetch_dir: FetchDirFactory, routes: list[Route], tmp_path: Path
) -> None:
    pages = opted_out_pages(routes)
    fetch_dir = make_fetch_dir({"part-00000-00000": list(pages.values())})
    summary = run_extract(fetch_dir, tmp_path / "honoured", ExtractConfig(workers=1))
    assert summary.outcomes == {TDM_RESERVED: 3, ROBOTS_NOAI: 2} and summary.counts["documents"] == 1
    reserved = {pages[name].url for name in ("site_file", "header", "meta")}
    assert rejected(tmp_path / "honoured", TDM_RESERVED) == reserved
    assert rejected(tmp_path / "honoured", ROBOTS_NOAI) == {pages["noai"].url, pages["noai_header"].url}

    ignored = ExtractConfig(workers=1, honour_tdm_reservation=False, honour_noai=False)
    assert ignored.ignored_optouts() == ["tdm_reservation", "noai"]
    summary = run_extract(fetch_dir, tmp_path / "ignored", ignored)
    assert summary.outcomes == {} and summary.counts["documents"] == 6
