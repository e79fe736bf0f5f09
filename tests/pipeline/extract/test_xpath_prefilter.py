"""The prefilter in front of trafilatura's discard XPaths: it may only skip an expression that selects nothing."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
from lxml import etree, html

from pipeline.extract import xpath_prefilter
from pipeline.extract.backends import trafilatura_extract
from pipeline.extract.xpath_prefilter import (
    PrefilteredXPath,
    attribute_tests,
    prefiltered,
    required_substrings,
)
from pipeline.sample import site
from pipeline.sample.corpus import load_articles
from pipeline.sample.web import build_routes

TAGS = ("div", "p", "section", "span", "aside", "article", "main", "details", "ul", "ol", "li", "header", "h1")
ATTRIBUTES = ("class", "id", "style", "role", "aria-hidden", "data-component", "data-lp-replacement-content")


@pytest.fixture
def stock_trafilatura(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], int]]:
    """trafilatura with its own expressions until the test calls the install function this yields."""
    install = xpath_prefilter.install
    xpath_prefilter.uninstall()
    monkeypatch.setattr(xpath_prefilter, "install", lambda: 0)
    yield install
    install()


def wrapped_expressions() -> list[PrefilteredXPath]:
    import trafilatura.xpaths

    xpath_prefilter.install()
    lists = [getattr(trafilatura.xpaths, name) for name in xpath_prefilter.DISCARD_LISTS]
    found = [expression for expressions in lists for expression in expressions]
    return [expression for expression in found if isinstance(expression, PrefilteredXPath)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("^shar", {"shar"}),
        ("bread-?crumb", {"bread"}),
        ("(?:^| )ad-", {"ad-"}),
        ("dfp[Aa]d", {"dfp"}),
        (r"(^|\s)bottom|bottom(\s|$)", {"bottom"}),
        ("^(?:jp-|dpsp-content)", {"jp-", "dpsp-content"}),
        ("(?i:FullText)", {"fulltext"}),
        ("^[Cc]omment(?!ary)|(?:article|post)-comments", {"omment", "-comments"}),
        ("x+yz", {"yz"}),  # the longest of what must occur
        ("a?", None),  # may match the empty string
        ("x|y*", None),  # one branch needs no literal
        ("[ab]", None),
        ("café", None),  # lower case of non-ASCII text may change its length
    ],
)
def test_required_substrings(pattern: str, expected: set[str] | None) -> None:
    assert required_substrings(pattern) == (None if expected is None else frozenset(expected))


def test_attribute_tests_reads_an_or_of_attribute_tests() -> None:
    tests = attribute_tests(
        "@data-x or contains(translate(@role, 'N', 'n'), 'nav') or re:test(@id|@class, '^shar', 'i') or "
        "starts-with(@id, 'reply-') or @aria-hidden='true' or contains(@style, 'a.b')"
    )
    assert tests is not None
    assert tests.attributes == {"role", "id", "class", "aria-hidden", "style"}
    assert tests.present == {"data-x"}
    assert set(tests.patterns) == {"(?i:^shar)", "(?i:nav)", r"reply\-", "true", r"a\.b"}


@pytest.mark.parametrize(
    "predicate",
    [
        "self::div or self::p",
        "contains(@class, 'a') and contains(@id, 'b')",
        "not(@class='x') or @id='y'",
        "not(.//h1) or re:test(@id, 'x')",
        "1",
        "string-length(@id) > 3",
    ],
)
def test_attribute_tests_refuses_anything_else(predicate: str) -> None:
    assert attribute_tests(predicate) is None


@pytest.mark.parametrize(
    "path",
    [
        ".//cite|.//quote[@class='x']",  # a union: the other path needs no attribute
        "//*[@class='x']",  # the whole document, not the context's subtree
        ".//*[@class='x']/..",  # leaves the subtree
        ".//*[ancestor::div][contains(@class, 'x') or @id='y']/preceding::p",
        ".//header",  # no attribute test at all
        ".//*[re:test(@class, '(?<!x)y')]",  # a look-behind can see the line break between two values
        r".//*[re:test(@class, '\Ay')]",
        ".//*[re:test(@class, 'a?')]",  # nothing it must contain
    ],
)
def test_prefiltered_refuses_what_it_cannot_prove_empty(path: str) -> None:
    namespaces = {"re": "http://exslt.org/regular-expressions"}
    assert prefiltered(etree.XPath(path, namespaces=namespaces)) is None


def test_a_case_blind_test_is_matched_beyond_ascii() -> None:
    """Python's case-blind "share" matches "ſhare" (long s), whose lower case does not contain "share"."""
    namespaces = {"re": "http://exslt.org/regular-expressions"}
    expression = prefiltered(etree.XPath(".//*[re:test(@class, 'share', 'i')]", namespaces=namespaces))
    assert expression is not None
    tree = html.fromstring("<html><body><div class='\u017fhare'>x</div><p class='other'>y</p></body></html>")
    assert [element.tag for element in expression(tree)] == ["div"]
    assert expression(html.fromstring("<html><body><div class='shore'>x</div></body></html>")) == []


def test_install_wraps_trafilaturas_discard_expressions_and_uninstall_restores_them() -> None:
    import trafilatura.xpaths

    xpath_prefilter.install()
    assert len(wrapped_expressions()) >= 9  # trafilatura 2.3.1: 11; fewer means an upgrade changed their shape
    assert isinstance(trafilatura.xpaths.PRECISION_DISCARD_XPATH[0], etree.XPath)  # ".//header": nothing to test
    xpath_prefilter.uninstall()
    try:
        lists = [getattr(trafilatura.xpaths, name) for name in xpath_prefilter.DISCARD_LISTS]
        assert all(isinstance(expression, etree.XPath) for expressions in lists for expression in expressions)
    finally:
        xpath_prefilter.install()


def test_install_runs_once_per_process_even_when_nothing_qualifies(monkeypatch: pytest.MonkeyPatch) -> None:
    xpath_prefilter.uninstall()
    walks: list[int] = []
    monkeypatch.setattr(xpath_prefilter, "_discard_lists", lambda: walks.append(1) or iter(()))
    try:
        assert xpath_prefilter.install() == 0
        assert xpath_prefilter.install() == 0  # every page calls it: the lists are not walked again
        assert walks == [1]
    finally:
        monkeypatch.undo()
        xpath_prefilter.uninstall()
        xpath_prefilter.install()


def _vocabulary(expressions: list[PrefilteredXPath]) -> list[str]:
    """Attribute values near each expression's tokens: the tokens, their case variants, pieces and neighbours."""
    tokens = sorted({token for expression in expressions for token in expression._substrings} - {""})
    words = ["content", "main", "x", "entry-content", "post", "menu-item", "true", "false", "display:block"]
    for token in tokens:
        words += [token, token.upper(), token.title(), token[1:], token[:-1], f"x{token}", f"{token}y", f"a {token} b"]
        words += [f"{token.strip()}-box", f"hide-{token.strip()}", f"{token}\nz"]
        # what a case-blind pattern matches beyond ASCII: long s, dotless i, the Kelvin sign
        words += [token.replace("s", "\u017f").replace("i", "\u0131").replace("k", "\u212a")]
    return words


def _random_tree(rng: random.Random, words: list[str]) -> etree._Element:
    root = html.fromstring("<html><body><div id='page'></div></body></html>")
    parents = [root.find(".//div")]
    for _ in range(rng.randrange(5, 40)):
        element = etree.SubElement(rng.choice(parents), rng.choice(TAGS))
        for name in rng.sample(ATTRIBUTES, rng.randrange(0, 3)):
            value = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 3)))
            element.set(name, value if rng.random() < 0.8 else value.upper())
        element.text = "some text"
        parents.append(element)
    return root


def test_a_skipped_expression_selects_nothing_on_thousands_of_trees_near_its_tokens() -> None:
    expressions = wrapped_expressions()
    words = _vocabulary(expressions)
    rng = random.Random(27)
    skipped = evaluated = 0
    for _ in range(1500):
        tree = _random_tree(rng, words)
        context = tree if rng.random() < 0.5 else tree.find(".//body")
        for expression in expressions:
            expected = expression.xpath(context)
            assert expression(context) == expected, (expression.path, etree.tostring(tree))
            if expression.could_match(context):
                evaluated += 1
            else:
                assert expected == []
                skipped += 1
    assert skipped > 1000 and evaluated > 1000  # both paths were taken, many times


def _pages() -> list[tuple[str, str]]:
    """Real-shaped pages: the sample's web (broken markup, foreign, spam, cookie walls) and generated sites."""
    rng = random.Random(5)
    pages = [(route.url, route.body.decode("utf-8", "replace")) for route in build_routes() if route.body]
    for index, article in enumerate(load_articles()[:40]):
        page = (site.news_page, site.blog_page)[index % 2](article, "Site", "2019-03-01", rng)
        pages.append((f"http://site.example/{index}", page))
    return pages


def test_trafilatura_text_is_the_same_with_and_without_the_prefilter(stock_trafilatura: Callable[[], int]) -> None:
    pages = _pages()
    stock = [trafilatura_extract(body, url) for url, body in pages]
    assert not wrapped_expressions()
    assert stock_trafilatura() >= 9
    assert [trafilatura_extract(body, url) for url, body in pages] == stock
    assert sum(page is not None for page in stock) > 40
