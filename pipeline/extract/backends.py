"""The two main-text extractors ``ExtractConfig.backend`` chooses between: the same fields from either.

``trafilatura`` (the default) is what FineWeb runs, with its precision-first settings: the
cleanest text, about 3-4 ms of CPU per page. ``resiliparse`` (``extract_plain_text`` with
main-content detection) is a C++ DOM walk some 25-30x cheaper on the same pages (0.1-0.2 ms),
which makes the whole stage about 8x faster; it makes the same keep/drop decisions on the bundled
sample, its words agree with trafilatura's at a mean Jaccard of 0.93-0.96, and it keeps a little
more boilerplate (a byline, a share row) and finds fewer dates (none stated only in prose).
``bench/extract.py`` measures all of this.

Both return an ``ExtractedPage`` whose text has one paragraph per block element, separated by a
blank line, lines within a paragraph by a newline (see ``html_text``), and the page's title and
publication date where the page gives them. The libraries are imported on first use: the stage's
parent process resolves the extractor but never runs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pipeline.extract.html_text import ExtractedPage, paragraph_text, plain_text

TRAFILATURA_SETTINGS = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": False,
    "deduplicate": False,
    "with_metadata": True,  # title and publication date
}
# Inline elements of trafilatura's output tree: at the top level they continue the paragraph around them.
TRAFILATURA_INLINE = frozenset({"hi", "ref", "del", "lb"})
# Containers whose block children (a blockquote's paragraphs) are paragraphs of their own.
TRAFILATURA_CONTAINERS = frozenset({"quote", "div"})
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
URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-]([01]\d)[/-]([0-3]\d)(?:/|$|[-_])")  # /2019/01/03/slug
# "Headline | Site name", "Headline - Site": the title element's usual shapes (trafilatura's separators).
TITLE_PARTS = re.compile(r"^(.+?)\s+[–•·—|⁄*⋆~‹«<›»>:-]\s+(.+)$")


def trafilatura_extract(html: str, url: str | None) -> ExtractedPage | None:
    """trafilatura's main text (``bare_extraction``, as FineWeb), title and date, with its paragraphs kept.

    trafilatura's own text output puts every paragraph and every line on a line of its own, so
    the paragraphs come from its output tree instead: one per block element. Asking for ``txt``
    output skips that plain rendering, which would be thrown away.
    """
    import trafilatura  # imported here: the stage's parent process never extracts

    document = trafilatura.bare_extraction(html, url=url, output_format="txt", **TRAFILATURA_SETTINGS)
    if document is None or document.body is None:
        return None
    text = paragraph_text(_trafilatura_paragraphs(document.body))
    return ExtractedPage(text=text, title=document.title or None, published=document.date or None) if text else None


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


def resiliparse_extract(html: str, url: str | None) -> ExtractedPage | None:
    """resiliparse's main text (blank lines between blocks already), title and date from the same DOM."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    text = plain_text(extract_plain_text(tree, **RESILIPARSE_SETTINGS))
    if not text:
        return None
    metas = _meta_contents(tree)
    return ExtractedPage(text=text, title=_title(tree, metas), published=_published(tree, metas, url))


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


def _published(tree: Any, metas: dict[str, str], url: str | None) -> str | None:
    """The publication date (``YYYY-MM-DD``): the usual ``<meta>`` tags, else ``<time datetime>``, else the URL.

    trafilatura (through htmldate) also guesses from dates in the text; that search would double
    this backend's cost per page, so a page that states its date only in prose has none here.
    """
    candidates = (content for key, content in metas.items() if key in PUBLISHED_META)
    dates = (ISO_DATE.match(candidate) for candidate in candidates)
    published = next((date.group(1) for date in dates if date is not None), None)
    if published is None and tree.body is not None:
        times = (element.getattr("datetime") for element in tree.body.get_elements_by_tag_name("time"))
        dates = (ISO_DATE.match(stamp) for stamp in times if stamp)
        published = next((date.group(1) for date in dates if date is not None), None)
    in_url = URL_DATE.search(url or "") if published is None else None
    return "-".join(in_url.groups()) if in_url is not None else published
