from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from pipeline.sample.corpus import (
    ARTICLES,
    BOILERPLATE_FILE,
    COMMENTS,
    COOKIE_BANNERS,
    FOOTERS,
    KINDS,
    NAV_LINKS,
    RELATED_HEADLINES,
    load_articles,
    load_boilerplate,
    parse_articles,
    texts_dir,
)

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def test_every_article_has_its_fields() -> None:
    assert load_articles() is ARTICLES
    assert len({article.slug for article in ARTICLES}) == len(ARTICLES)
    for article in ARTICLES:
        assert SLUG.fullmatch(article.slug), article.slug
        assert article.title and article.title == article.title.strip(), article.slug
        assert re.fullmatch(r"[a-z]{2}", article.language), article.slug
        assert article.paragraphs and isinstance(article.paragraphs, tuple), article.slug
        for paragraph in article.paragraphs:
            assert paragraph == paragraph.strip() and "\n" not in paragraph and "  " not in paragraph, article.slug
        assert (article.language != "en") == (article.kind == "foreign"), article.slug


def test_articles_come_grouped_in_kind_order() -> None:
    kinds = [article.kind for article in ARTICLES]
    assert kinds == sorted(kinds, key=KINDS.index)
    assert set(kinds) == set(KINDS)


def test_boilerplate_collections_are_non_empty_strings() -> None:
    for collection in (NAV_LINKS, COOKIE_BANNERS, FOOTERS, COMMENTS, RELATED_HEADLINES):
        assert isinstance(collection, tuple) and collection
        assert all(isinstance(text, str) and text == text.strip() for text in collection)
    assert load_boilerplate("nav_links") is NAV_LINKS
    with pytest.raises(KeyError):
        load_boilerplate("sidebar")


def test_texts_ship_as_package_data() -> None:
    texts = texts_dir()
    assert texts.is_dir()
    names = {entry.name for entry in texts.iterdir() if entry.is_file()}
    assert {f"{kind}.md" for kind in KINDS} | {BOILERPLATE_FILE} <= names
    package_data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    patterns = package_data["pipeline.sample"]
    unshipped = [name for name in names if not any(fnmatch(f"texts/{name}", pattern) for pattern in patterns)]
    assert not unshipped, f"add these to [tool.setuptools.package-data] in pyproject.toml: {unshipped}"


def test_wrapped_lines_join_with_one_space() -> None:
    text = (
        "# A Title\nslug: a-title\nlanguage: en\n\nOne line\nwrapped.\n\nTwo.\n\n# B\nslug: b\nlanguage: de\n\nDrei.\n"
    )
    first, second = parse_articles(text, "article")
    assert (first.title, first.slug, first.paragraphs) == ("A Title", "a-title", ("One line wrapped.", "Two."))
    assert (second.language, second.kind, second.paragraphs) == ("de", "article", ("Drei.",))


@pytest.mark.parametrize(
    "text",
    [
        "slug: a\nlanguage: en\n\nNo heading first.\n",
        "# A\nlanguage: en\n\nNo slug.\n",
        "# A\nslug: a\nlanguage: en\nkind: spam\n\nAn unknown field.\n",
        "# A\nslug: a\nlanguage: en\n\nTwo blank lines\n\n\nmake an empty paragraph.\n",
    ],
)
def test_malformed_files_fail_loudly(text: str) -> None:
    with pytest.raises(ValueError):
        parse_articles(text, "article")
