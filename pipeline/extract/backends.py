"""The two main-text extractors ``ExtractConfig.backend`` chooses between: the same fields from either.

``trafilatura`` (the default) is what FineWeb runs, with its precision-first settings: the
cleanest text, about 3-4 ms of CPU per page. ``resiliparse`` (``extract_plain_text`` with
main-content detection) is a C++ DOM walk some 25-30x cheaper on the same pages (0.1-0.2 ms),
which makes the whole stage about 8x faster; it makes the same keep/drop decisions on the bundled
sample, its words agree with trafilatura's at a mean Jaccard of 0.93-0.96, and it keeps a little
more boilerplate (a byline, a share row). ``bench/extract.py`` measures all of this.

Both return an ``ExtractedPage`` whose text has one paragraph per block element, separated by a
blank line, lines within a paragraph by a newline (see ``html_text``), and the page's title and
publication date where the page gives them, as ``ExtractConfig.dates`` asks: ``meta`` (the default)
reads both from the page's ``<title>``, ``<meta>`` tags, JSON-LD, ``<time>`` and URL with one helper
(``page_metadata``) whatever the backend; ``full`` adds htmldate's search of the whole page (for
trafilatura: its own metadata, as its ``with_metadata`` gives it), which doubles trafilatura's time per
page; ``none`` keeps the title and no date. The main text does not depend on ``dates``. The
libraries are imported on first use: the stage's parent process resolves the extractor but never runs it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from typing import Any

from pipeline.extract.html_text import ExtractedPage, paragraph_text, plain_text

TRAFILATURA_SETTINGS = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": False,
    "deduplicate": False,
}
# Inline elements of trafilatura's output tree: at the top level they continue the paragraph around them.
TRAFILATURA_INLINE = frozenset({"hi", "ref", "del", "lb"})
# Containers whose block children (a blockquote's paragraphs) are paragraphs of their own.
TRAFILATURA_CONTAINERS = frozenset({"quote", "div"})
# What each extractor imports on first use, by function name: a worker imports them as it starts
# (``html_text.preload_extractor``), while the parent still reads the first pages shard.
LIBRARIES = {
    "trafilatura_extract": ("trafilatura", "trafilatura.xml", "resiliparse.parse.html"),
    "resiliparse_extract": ("resiliparse.extract.html2text", "resiliparse.parse.html"),
}
RESILIPARSE_SETTINGS = {"main_content": True, "comments": False, "alt_texts": False, "preserve_formatting": True}
# <meta> names (property, name or itemprop, lower case) that carry the publication date.
PUBLISHED_META = frozenset(
    {
        "article:published_time",
        "og:published_time",
        "datepublished",
        "date",
        "pubdate",
        "publishdate",
        "publish-date",
        "dc.date",
        "dc.date.issued",
        "dcterms.date",
        "dcterms.created",
        "sailthru.date",
        "parsely-pub-date",
    }
)
ISO_DATE = re.compile(r"\s*(\d{4}-\d{2}-\d{2})")
# schema.org's datePublished in a JSON-LD script (news sites that set no <meta> date), its value ISO 8601.
JSON_LD_DATE = re.compile(r'"datePublished"\s*:\s*"\s*(\d{4}-\d{2}-\d{2})')
# htmldate's lower bound: an earlier date in a page's markup is a placeholder (1970-01-01), not its publication.
EARLIEST_DATE = "1995-01-01"
URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-]([01]\d)[/-]([0-3]\d)(?:/|$|[-_])")  # /2019/01/03/slug
# "Headline | Site name", "Headline - Site": the title element's usual shapes (trafilatura's separators), split
# at the last one as trafilatura splits them ("Module — What it does — Python docs").
TITLE_PARTS = re.compile(r"^(.+)\s+[–•·—|⁄*⋆~‹«<›»>:-]\s+(.+)$")


def trafilatura_extract(html: str, url: str | None, dates: str = "meta") -> ExtractedPage | None:
    """trafilatura's main text (``bare_extraction``, as FineWeb), title and date, with its paragraphs kept.

    trafilatura's own text output puts every paragraph and every line on a line of its own, so
    the paragraphs come from its output tree instead: one per block element. Asking for ``txt``
    output skips that plain rendering, which would be thrown away. Its metadata (``with_metadata``)
    is read apart from the text, before it, from a tree of its own (htmldate copies the tree it
    searches), so the text is the same with or without it; only ``dates="full"`` asks for it.
    """
    import trafilatura  # imported here: the stage's parent process never extracts

    from pipeline.extract import xpath_prefilter

    xpath_prefilter.install()  # the same text, faster (see the module); once per process
    full = dates == "full"
    document = trafilatura.bare_extraction(
        html, url=url, output_format="txt", with_metadata=full, **TRAFILATURA_SETTINGS
    )
    if document is None or document.body is None:
        return None
    text = paragraph_text(_trafilatura_paragraphs(document.body))
    if not text:
        return None
    if full:
        return ExtractedPage(text=text, title=document.title or None, published=document.date or None)
    from resiliparse.parse.html import HTMLTree

    title, published = page_metadata(HTMLTree.parse(html), html, url, dates)
    return ExtractedPage(text=text, title=title, published=published)


def _trafilatura_paragraphs(parent: Any) -> Iterator[str]:
    """The text of each block element under ``parent``, in order; inline neighbours join one paragraph."""
    from trafilatura.xml import xmltotxt

    inline = [parent.text or ""]
    for element in parent:
        if element.tag in TRAFILATURA_INLINE:
            inline.append(xmltotxt(element, False))
            continue
        yield " ".join(inline)
        inline = []
        if element.tag in TRAFILATURA_CONTAINERS and any(child.tag not in TRAFILATURA_INLINE for child in element):
            yield from _trafilatura_paragraphs(element)
            inline = [element.tail or ""]
        else:
            yield xmltotxt(element, False)  # its tail included, as trafilatura renders it
    yield " ".join(inline)


def resiliparse_extract(html: str, url: str | None, dates: str = "meta") -> ExtractedPage | None:
    """resiliparse's main text (blank lines between blocks already), title and date from the same DOM."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    text = plain_text(extract_plain_text(tree, **RESILIPARSE_SETTINGS))
    if not text:
        return None
    title, published = page_metadata(tree, html, url, dates)
    return ExtractedPage(text=text, title=title, published=published)


def page_metadata(tree: Any, html: str, url: str | None, dates: str) -> tuple[str | None, str | None]:
    """(title, publication date) from a page's markup, ``tree`` its resiliparse DOM: both backends' ``meta``.

    A fraction of a millisecond against htmldate's 15-20 ms (which also searches the text for dates);
    ``full`` asks htmldate for the date all the same, ``none`` for no date.
    """
    metas = _meta_contents(tree)
    if dates == "full":
        return _title(tree, metas), htmldate_published(html, url)
    return _title(tree, metas), _published(tree, html, metas, url) if dates == "meta" else None


def htmldate_published(html: str, url: str | None) -> str | None:
    """htmldate's date of the page, searched as trafilatura's ``with_metadata`` searches it (its parameters)."""
    from htmldate import find_date

    today = datetime.datetime.now().astimezone().strftime("%Y-%m-%d")
    return find_date(html, url=url, original_date=True, extensive_search=True, max_date=today)


def _meta_contents(tree: Any) -> dict[str, str]:
    """``<meta>`` contents by lower-cased property, name or itemprop; the first of each wins."""
    contents: dict[str, str] = {}
    for meta in (tree.head or tree.document).get_elements_by_tag_name("meta"):  # by tag: 2x faster than CSS
        key = meta.getattr("property") or meta.getattr("name") or meta.getattr("itemprop")
        content = meta.getattr("content")
        if key and content is not None:
            contents.setdefault(key.strip().lower(), content.strip())
    return contents


def _title(tree: Any, metas: dict[str, str]) -> str | None:
    """As trafilatura picks it: og:title, else a lone ``<h1>``, else the headline part of ``<title>``."""
    if metas.get("og:title"):
        return metas["og:title"]
    headings = tree.body.get_elements_by_tag_name("h1") if tree.body is not None else []
    if len(headings) == 1 and headings[0].text.strip():
        return " ".join(headings[0].text.split())
    title = " ".join((tree.title or "").split())
    parts = TITLE_PARTS.match(title)
    if parts is not None:
        return next((part for part in parts.groups() if "." not in part), parts.group(1))
    return title or None


def _published(tree: Any, html: str, metas: dict[str, str], url: str | None) -> str | None:
    """The publication date (``YYYY-MM-DD``): the usual ``<meta>`` tags, else JSON-LD's ``datePublished``, else
    ``<time datetime>``, else the URL; a stamp that is no calendar date, or before 1995, is none.

    htmldate also guesses from dates in the text; that search costs 5-10x trafilatura's extraction of the
    text, so a page that states its date only in prose has none here (``dates="full"`` searches).
    """
    return next(filter(None, map(_iso_date, _date_candidates(tree, html, metas, url))), None)


def _date_candidates(tree: Any, html: str, metas: dict[str, str], url: str | None) -> Iterator[str]:
    """The date stamps of a page, best first; the later places are read only if no earlier stamp is a date."""
    yield from (content for key, content in metas.items() if key in PUBLISHED_META)
    if '"datePublished"' in html:  # a substring search first: most pages have none, and it is 10x cheaper
        yield from (found.group(1) for found in JSON_LD_DATE.finditer(html))
    if tree.body is not None:
        yield from (element.getattr("datetime") or "" for element in tree.body.get_elements_by_tag_name("time"))
    in_url = URL_DATE.search(url or "")
    if in_url is not None:
        yield "-".join(in_url.groups())


def _iso_date(stamp: str) -> str | None:
    """The ``YYYY-MM-DD`` an ISO 8601 stamp starts with, if it is a plausible publication date."""
    found = ISO_DATE.match(stamp)
    if found is None or found.group(1) < EARLIEST_DATE:
        return None
    try:
        return datetime.date.fromisoformat(found.group(1)).isoformat()
    except ValueError:  # 2019-13-45
        return None
