"""Bundled sample corpus for tests, demos and documentation, read from the package data in ``texts/``.

All text in ``texts/`` is original and was written specifically for this project; it is not
copied or adapted from any website, book or other dataset. People, places, organisations and
events mentioned there are fictional unless they are common knowledge. License: same as the
project, Apache-2.0.

The corpus mimics what a WebText-style crawler encounters: good long-form English prose
(``kind="article"``), well-written pages in other languages (``"foreign"``), encyclopedia-style
entries (``"wikipedia"``), low-quality keyword spam (``"spam"``), near-empty pages
(``"thin"``), and articles never served on the sample web (``"heldout"``) from which the sample's
own evaluation set is made. The boilerplate collections (navigation labels, cookie banners, footers, reader
comments and related-story teasers) can be mixed into synthetic HTML pages to exercise
boilerplate removal.

The prose lives in data files rather than string literals so that it reads, reviews and diffs
as text. Layout::

    texts/<kind>.md        one file per kind, in ``KINDS`` order; articles in file order
    texts/boilerplate.yaml one list per collection: nav_links, cookie_banners, footers, ...

Each article in a kind file (a paragraph's line breaks read as single spaces, as in Markdown)::

    # Title of the page
    slug: url-safe-unique-slug
    language: en

    First paragraph, wrapped
    over several lines.

    Second paragraph.

The order of ``ARTICLES`` is part of the sample's bytes: ``web.py`` draws from it with a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

import yaml

__all__ = [
    "ARTICLES",
    "BOILERPLATE_FILE",
    "COMMENTS",
    "COOKIE_BANNERS",
    "FOOTERS",
    "KINDS",
    "NAV_LINKS",
    "RELATED_HEADLINES",
    "Article",
    "load_articles",
    "load_boilerplate",
    "parse_articles",
    "texts_dir",
]

KINDS = ("article", "foreign", "wikipedia", "spam", "thin", "heldout")
BOILERPLATE_FILE = "boilerplate.yaml"


@dataclass(frozen=True, slots=True)
class Article:
    """One sample page: metadata plus its body text split into paragraphs."""

    slug: str  # url-safe, lower-case, hyphens, unique across the corpus
    title: str
    language: str  # ISO 639-1 code, e.g. "en", "de"
    kind: str  # one of KINDS
    paragraphs: tuple[str, ...]


def texts_dir() -> Traversable:
    """The data folder, found through importlib.resources so an installed wheel reads its own copy."""
    return files("pipeline.sample").joinpath("texts")


def parse_articles(text: str, kind: str) -> tuple[Article, ...]:
    """Strict, so that a typo in a heading or field fails loudly instead of merging or dropping an article."""
    if not text.startswith("# "):
        raise ValueError(f"{kind}: the file must start with an article heading ('# Title')")
    return tuple(_parse_article(chunk, kind) for chunk in ("\n" + text).split("\n# ")[1:])


def _parse_article(chunk: str, kind: str) -> Article:
    header, _, body = chunk.strip("\n").partition("\n\n")
    title, *field_lines = header.split("\n")
    fields = dict(line.partition(": ")[::2] for line in field_lines)
    if set(fields) != {"slug", "language"}:
        raise ValueError(f"{kind}/{title}: expected 'slug:' and 'language:' lines, got {sorted(fields)}")
    paragraphs = tuple(paragraph.replace("\n", " ") for paragraph in body.split("\n\n"))
    if not all(paragraph and paragraph == paragraph.strip() for paragraph in paragraphs):
        raise ValueError(f"{kind}/{fields['slug']}: empty or padded paragraph (one blank line between paragraphs)")
    return Article(fields["slug"], title, fields["language"], kind, paragraphs)


@cache
def load_articles() -> tuple[Article, ...]:
    """Every article, kinds in ``KINDS`` order: the order the sample generator's seeded draws depend on."""
    texts = texts_dir()
    return tuple(
        article
        for kind in KINDS
        for article in parse_articles(texts.joinpath(f"{kind}.md").read_text(encoding="utf-8"), kind)
    )


@cache
def _boilerplate() -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load(texts_dir().joinpath(BOILERPLATE_FILE).read_text(encoding="utf-8"))
    collections = {name: tuple(items) for name, items in data.items()}
    for name, items in collections.items():
        if not items or not all(isinstance(item, str) and item for item in items):
            raise ValueError(f"{BOILERPLATE_FILE}: {name} must be a non-empty list of strings (quote yes/no/numbers)")
    return collections


def load_boilerplate(name: str) -> tuple[str, ...]:
    """One boilerplate collection by its key in ``boilerplate.yaml``; a missing key is a KeyError, not ``()``."""
    return _boilerplate()[name]


ARTICLES = load_articles()
NAV_LINKS = load_boilerplate("nav_links")  # short site-navigation labels
COOKIE_BANNERS = load_boilerplate("cookie_banners")  # cookie-consent banner texts
FOOTERS = load_boilerplate("footers")  # page footer texts
COMMENTS = load_boilerplate("comments")  # reader comments in typical web-forum style
RELATED_HEADLINES = load_boilerplate("related_headlines")  # "related stories" teaser headlines
