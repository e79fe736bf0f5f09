"""Site opt-outs: a page reserved by TDMRep (header or meta tag) or marked robots noai becomes no document."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from extract_fixtures import FetchDirFactory, Page, page_from_route

from pipeline.extract.config import ExtractConfig
from pipeline.extract.html_text import ROBOTS_NOAI, TDM_RESERVED, PageRules, header_optout, optout_reason
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
    ("tdm_reservation", "robots_tag", "reason"),
    [
        ("1", None, TDM_RESERVED),
        (" 1 ", "noai", TDM_RESERVED),
        ("0", None, None),
        (None, "noindex, NoAI", ROBOTS_NOAI),
        (None, "noimageai", ROBOTS_NOAI),
        (None, "otherbot: noai", None),  # names another crawler
        (None, "noindex, nofollow", None),
        (None, None, None),
    ],
)
def test_response_headers_that_opt_a_page_out(tdm_reservation: str | None, robots_tag: str | None, reason) -> None:
    assert header_optout(tdm_reservation, robots_tag, RULES) == reason


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
    """Four of the sample's articles, each opted out one way (the TDMRep header, its meta tag, robots noai as a
    meta tag and as a header), and one kept."""
    articles = [page_from_route(route) for route in routes if route.role == "article"][:5]
    header, meta, noai, noai_header, kept = articles
    header.headers = (("TDM-Reservation", "1"),)
    noai_header.headers = (("X-Robots-Tag", "noai"),)
    meta.body = meta.body.replace(b"<head>", b'<head><meta name="tdm-reservation" content="1">', 1)
    noai.body = noai.body.replace(b"<head>", b'<head><meta name="robots" content="noindex, noai">', 1)
    assert b'content="1"' in meta.body and b"noai" in noai.body, "the sample's articles lost their <head>"
    return {"header": header, "meta": meta, "noai": noai, "noai_header": noai_header, "kept": kept}


def rejected(out_dir: Path, reason: str) -> set[str]:
    shards = complete_shards(stage_rejects_dir(out_dir, "extract") / reason)
    return {url for shard in shards for url in pq.read_table(shard)["url"].to_pylist()}


def test_opted_out_pages_become_no_documents_and_their_rows_are_kept(
    make_fetch_dir: FetchDirFactory, routes: list[Route], tmp_path: Path
) -> None:
    pages = opted_out_pages(routes)
    fetch_dir = make_fetch_dir({"part-00000-00000": list(pages.values())})
    summary = run_extract(fetch_dir, tmp_path / "honoured", ExtractConfig(workers=1))
    assert summary.outcomes == {TDM_RESERVED: 2, ROBOTS_NOAI: 2} and summary.counts["documents"] == 1
    assert rejected(tmp_path / "honoured", TDM_RESERVED) == {pages["header"].url, pages["meta"].url}
    assert rejected(tmp_path / "honoured", ROBOTS_NOAI) == {pages["noai"].url, pages["noai_header"].url}

    ignored = ExtractConfig(workers=1, honour_tdm_reservation=False, honour_noai=False)
    assert ignored.ignored_optouts() == ["tdm_reservation", "noai"]
    summary = run_extract(fetch_dir, tmp_path / "ignored", ignored)
    assert summary.outcomes == {} and summary.counts["documents"] == 5
