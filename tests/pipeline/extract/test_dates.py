"""``dates``: how a document's publication date is found changes its title and date, never its text or whether
it is kept; ``meta`` reads both from the page's markup, ``full`` is trafilatura's own metadata (htmldate)."""

from __future__ import annotations

import json

import pytest
import trafilatura
from extract_fixtures import Page

from pipeline.extract.backends import TRAFILATURA_SETTINGS, _trafilatura_paragraphs
from pipeline.extract.config import BACKENDS, DATES, ExtractConfig
from pipeline.extract.html_text import ExtractedPage, decode_body, extract_page, page_kind, paragraph_text

PROSE = "<p>" + " ".join(["The harbour council met on Tuesday to weigh the cost of the new sea wall."] * 6) + "</p>"


def extracted(page: Page, backend: str, dates: str) -> ExtractedPage | str:
    rules = ExtractConfig(backend=backend, dates=dates).page_rules()
    return extract_page(page.body, page.content_type, page.charset, page.url, rules)


def article(head: str, body: str = "", url: str = "https://www.coastal-times.test/news/sea-wall") -> Page:
    html = f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8>{head}</head><body>{body}<article>{PROSE}</article>"
    return Page(url, f"{html}</body></html>".encode())


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_text_and_what_is_kept_do_not_depend_on_dates(sample_pages: list[Page], backend: str) -> None:
    fetched = [page for page in sample_pages if page.outcome == "ok"]
    results = {dates: [extracted(page, backend, dates) for page in fetched] for dates in DATES}
    kept = {dates: [isinstance(result, ExtractedPage) for result in pages] for dates, pages in results.items()}
    # the 36 the stage keeps, and the press agency's pages that only its site file and a header reserve (not read here)
    assert kept["meta"] == kept["none"] == kept["full"] and sum(kept["full"]) == 38
    texts = {dates: [getattr(result, "text", result) for result in pages] for dates, pages in results.items()}
    assert texts["meta"] == texts["none"] == texts["full"]  # byte for byte; a rejected page's reason alike
    titles = {dates: [getattr(result, "title", None) for result in pages] for dates, pages in results.items()}
    assert titles["meta"] == titles["none"] == titles["full"]  # the sample's titles: the same from the markup
    assert all(getattr(result, "published", None) is None for result in results["none"])


def test_full_is_what_trafilatura_with_its_metadata_gave_before(sample_pages: list[Page]) -> None:
    """The stage before ``dates`` existed: ``bare_extraction`` with ``with_metadata``, its tree's paragraphs."""
    for page in [page for page in sample_pages if page.outcome == "ok" and page_kind(page.content_type) == "html"]:
        result = extracted(page, "trafilatura", "full")
        if isinstance(result, str):
            continue  # binary, too short: the same reason whatever ``dates`` (above)
        html, _ = decode_body(page.body, page.charset)
        settings = {**TRAFILATURA_SETTINGS, "output_format": "txt", "with_metadata": True}
        before = trafilatura.bare_extraction(html, url=page.url, **settings)
        assert result.text == paragraph_text(_trafilatura_paragraphs(before.body)), page.url
        assert (result.title, result.published) == (before.title or None, before.date or None), page.url


def test_meta_misses_dates_stated_only_in_prose_which_full_finds() -> None:
    blog = article("<title>Sea wall costs - Harbour Notes</title>", '<div class="meta">Posted on 14 March 2021</div>')
    assert (extracted(blog, "trafilatura", "meta").published, extracted(blog, "trafilatura", "full").published) == (
        None,
        "2021-03-14",
    )


JSON_LD = {"@context": "https://schema.org", "@type": "NewsArticle", "datePublished": "2022-05-17T09:00:00+02:00"}
HEADS = {  # a page's head (and what precedes the article) -> (title, date) under ``meta``
    '<title>Storm closes harbour – Coastal Times</title><meta property="og:title" content="Storm shuts harbour">'
    '<meta property="article:published_time" content="2021-03-14T08:30:00+00:00">': (
        "Storm shuts harbour",
        "2021-03-14",
    ),
    '<title>Sea wall approved | coastal-times.test</title><meta itemprop="datePublished" content="2020-11-02">': (
        "Sea wall approved",
        "2020-11-02",
    ),
    '<title>Minutes</title><meta name="DC.date.issued" content="2018-07-09T10:00">': ("Minutes", "2018-07-09"),
    f'<title>Council votes</title><script type="application/ld+json">{json.dumps(JSON_LD)}</script>': (
        "Council votes",
        "2022-05-17",
    ),
    '<title>Tides</title><meta property="og:published_time" content="1970-01-01T00:00:00Z">'
    '</head><body><p class=byline><time datetime="2017-02-03T12:00">3 Feb</time>': ("Tides", "2017-02-03"),
    "<title>curses — Terminal handling — Python 3.11 documentation</title>": ("curses — Terminal handling", None),
    '<title>Tides</title><meta name="date" content="2019-13-45">': ("Tides", None),
    '<title>Tides</title><meta name="date" content="March 14, 2021">': ("Tides", None),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("head", "expected"), HEADS.items())
def test_meta_reads_title_and_date_from_where_pages_put_them(
    backend: str, head: str, expected: tuple[str, str | None]
) -> None:
    page = extracted(article(head), backend, "meta")
    assert isinstance(page, ExtractedPage) and (page.title, page.published) == expected
    assert extracted(article(head), backend, "none").published is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_date_in_the_url_is_the_last_resort(backend: str) -> None:
    dated = article("<title>Tides</title>", url="https://www.coastal-times.test/2016/05/04/tides")
    assert extracted(dated, backend, "meta").published == "2016-05-04"
    stated = article('<title>Tides</title><meta name="date" content="2016-05-06">', url=dated.url)
    assert extracted(stated, backend, "meta").published == "2016-05-06"
