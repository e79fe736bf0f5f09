"""Wikipedia, twice: its pages by URL (a document from Wikipedia or a mirror is dropped whole), and its text.

GPT-2 removed every Wikipedia document from WebText, since Wikipedia feeds many evaluation
sets. ``is_wikipedia`` recognises every language subdomain of wikipedia.org, the mobile hosts
(``en.m.wikipedia.org``) and the configured mirrors.

The text comes from a MediaWiki XML dump (``pages-articles*.xml.bz2``, or uncompressed),
streamed with ``xml.etree.ElementTree.iterparse`` (each page element is cleared after use,
so memory is one page) and stripped of wikitext markup with mwparserfromhell. Only articles
(namespace 0) that are not redirects count. A truncated or corrupt dump is an error naming it.
A multistream dump with its index beside it is parsed in parallel instead (``multistream``), page by
page with the same ``article_text``.
"""

from __future__ import annotations

import bz2
import contextlib
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import mwparserfromhell

from pipeline.urls import host_rule

WIKIPEDIA_ORG = "wikipedia.org"


def _may_name(url: str, mirrors: tuple[str, ...]) -> bool:
    """Whether ``url`` holds wikipedia.org or a mirror's name at all: the host that ``is_wikipedia`` parses out is
    part of the URL, lower-cased character by character as ``url.lower()`` is, so a URL without them is no page of
    theirs; this test costs a fraction of ``urlsplit`` and rules out almost every URL of a corpus."""
    lowered = url.lower()
    if WIKIPEDIA_ORG in lowered or "\t" in lowered or "\r" in lowered or "\n" in lowered:  # urlsplit drops \t\r\n
        return True
    for name in mirrors:  # a loop: a generator costs more than these searches
        if name in lowered:
            return True
    return False


def is_wikipedia(url: str | None, mirrors: tuple[str, ...]) -> bool:
    """Whether ``url`` is a page of Wikipedia (any language, mobile too) or of one of ``mirrors``."""
    if not url:
        return False
    if not _may_name(url, mirrors):
        return False
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    if host == WIKIPEDIA_ORG or host.endswith("." + WIKIPEDIA_ORG):
        return True
    return host_rule(host, dict.fromkeys(mirrors, "mirror")) is not None


def is_wikipedia_page(url: str | None, final_url: str | None, mirrors: tuple[str, ...]) -> bool:
    """GPT-2's rule, on the URL and on where it redirected to."""
    return is_wikipedia(url, mirrors) or is_wikipedia(final_url, mirrors)


class CorruptWikipediaDump(ValueError):
    """A dump that ends early or is not MediaWiki XML."""


def _open(path: Path) -> IO[bytes]:
    if not path.is_file():
        raise FileNotFoundError(f"Wikipedia dump not found: {path}")
    return bz2.open(path, "rb") if path.suffix == ".bz2" else open(path, "rb")


def local_name(tag: str) -> str:
    """A tag without its XML namespace (dumps declare one on ``<mediawiki>``)."""
    return tag.rsplit("}", 1)[-1]


def article_text(page: ElementTree.Element) -> str | None:
    """The plain text of an article's latest revision; None for redirects and other namespaces."""
    fields = {local_name(child.tag): child for child in page}
    if (fields.get("ns") is not None and (fields["ns"].text or "").strip() != "0") or "redirect" in fields:
        return None
    revisions = [child for child in page if local_name(child.tag) == "revision"]
    texts = [child for child in (revisions[-1] if revisions else []) if local_name(child.tag) == "text"]
    wikitext = texts[0].text if texts else None
    return mwparserfromhell.parse(wikitext).strip_code(normalize=True, collapse=True) if wikitext else None


def article_texts(path: Path) -> Iterator[str]:
    """The plain text of every article in the dump at ``path``, in dump order."""
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(_open(path))
        try:
            for _, element in ElementTree.iterparse(handle, events=("end",)):
                if local_name(element.tag) != "page":
                    continue
                text = article_text(element)
                element.clear()
                if text:
                    yield text
        except (ElementTree.ParseError, EOFError, OSError) as error:
            raise CorruptWikipediaDump(f"Wikipedia dump {path} is truncated or not MediaWiki XML ({error})") from None
