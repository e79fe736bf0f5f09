"""One page at a time: decoding, content types, boilerplate removal, paragraphs and the too-little-text rules."""

from __future__ import annotations

import codecs
import dataclasses
import random

import pytest

from pipeline.extract import html_text
from pipeline.extract.config import ExtractConfig
from pipeline.extract.html_text import (
    NOT_TEXT,
    TOO_SHORT,
    UNDECODABLE,
    ExtractedPage,
    count_words,
    decode_body,
    extract_page,
    has_words,
    page_kind,
    paragraph_text,
    plain_text,
)
from pipeline.sample.corpus import COMMENTS, COOKIE_BANNERS, FOOTERS, NAV_LINKS, RELATED_HEADLINES, Article
from pipeline.sample.web import Route

CFG = ExtractConfig()


def route(routes: list[Route], role: str, index: int = 0) -> Route:
    return [candidate for candidate in routes if candidate.role == role][index]


def article_for(page_route: Route) -> Article:
    from pipeline.sample.corpus import ARTICLES

    return next(article for article in ARTICLES if page_route.path.endswith(article.slug))


def extracted(page_route: Route, charset: str | None = "utf-8", cfg: ExtractConfig = CFG) -> ExtractedPage | str:
    return extract_page(page_route.body or b"", page_route.content_type, charset, page_route.url, cfg.page_rules())


def test_news_page_keeps_the_article_and_drops_the_boilerplate(routes: list[Route]) -> None:
    news = route(routes, "article")
    article = article_for(news)
    page = extracted(news)
    assert isinstance(page, ExtractedPage)
    assert page.title == article.title
    assert page.published == "2019-01-03"
    for paragraph in article.paragraphs:
        assert paragraph in page.text
    boilerplate = [*COOKIE_BANNERS, *FOOTERS, *RELATED_HEADLINES, "Related stories", "Accept all"]
    boilerplate += [comment for comment in COMMENTS if len(comment) > 12]
    assert [text for text in boilerplate if text in page.text] == []
    lines = set(page.text.splitlines())
    assert [label for label in NAV_LINKS if label in lines] == []


def test_paragraphs_are_separated_by_a_blank_line(routes: list[Route]) -> None:
    news = route(routes, "article")
    page = extracted(news)
    assert isinstance(page, ExtractedPage)
    assert page.text.split("\n\n") == [article_for(news).title, *article_for(news).paragraphs]


def test_lines_within_a_paragraph_stay_on_lines_of_their_own() -> None:
    sentence = "a sentence long enough for the extractor to keep it as part of the article body, surely"
    html = (
        f"<html><body><article><h1>On lists</h1><p>{sentence}.</p>"
        f"<p>First line {sentence}<br>second line {sentence}</p>"
        f"<ul><li>one {sentence}</li><li>two {sentence}</li></ul>"
        f"<blockquote><p>quoted one {sentence}</p><p>quoted two {sentence}</p></blockquote></article></body></html>"
    )
    page = extract_page(html.encode(), "text/html", "utf-8", None, ExtractConfig(min_words=10).page_rules())
    assert isinstance(page, ExtractedPage)
    paragraphs = page.text.split("\n\n")
    assert paragraphs[2] == f"First line {sentence}\nsecond line {sentence}"
    assert paragraphs[3] == f"- one {sentence}\n- two {sentence}"
    assert paragraphs[4:] == [f"quoted one {sentence}", f"quoted two {sentence}"]
    assert "\n\n\n" not in page.text and page.text == page.text.strip()


@pytest.mark.parametrize("role", ["article", "wikipedia", "exact_duplicate", "foreign"])
def test_every_template_yields_its_article_text(routes: list[Route], role: str) -> None:
    for page_route in [candidate for candidate in routes if candidate.role == role]:
        page = extracted(page_route)
        assert isinstance(page, ExtractedPage), page_route.url
        assert "reader" not in page.text and "Share" not in page.text.split()


def test_blog_page_with_unclosed_tags_keeps_every_paragraph(routes: list[Route]) -> None:
    blog = next(
        candidate for candidate in routes if candidate.host == "blog.webtext.test" and candidate.role == "article"
    )
    page = extracted(blog)
    assert isinstance(page, ExtractedPage)
    for paragraph in article_for(blog).paragraphs:
        assert paragraph in page.text
    assert "Archives" not in page.text and "Tweet" not in page.text


def test_chinese_and_japanese_articles_are_not_mistaken_for_thin_pages(routes: list[Route]) -> None:
    for page_route in routes:
        if page_route.path.startswith(("/ja/", "/zh/")):
            page = extracted(page_route)
            assert isinstance(page, ExtractedPage), page_route.url
            assert count_words(page.text) >= CFG.min_words


def test_thin_pages_are_too_short(routes: list[Route]) -> None:
    for page_route in [candidate for candidate in routes if candidate.role == "thin"]:
        assert extracted(page_route) == TOO_SHORT
    assert isinstance(extracted(route(routes, "thin"), cfg=ExtractConfig(min_words=0)), ExtractedPage)


def test_binary_served_as_html_is_not_text(routes: list[Route]) -> None:
    assert extracted(route(routes, "binary_as_html")) == NOT_TEXT
    assert extracted(route(routes, "binary_as_html"), charset="iso-8859-1") == NOT_TEXT  # decodes, to garbage
    assert extracted(route(routes, "not_html")) == NOT_TEXT  # application/pdf


def test_page_whose_bytes_contradict_its_charset_is_decoded_by_detection(routes: list[Route]) -> None:
    lying = route(routes, "wrong_charset")  # cp1252 bytes, declared and stored as utf-8
    page = extracted(lying, charset="utf-8")
    assert isinstance(page, ExtractedPage)
    assert page.charset_detected
    assert page.title == "Aller au travail à vélo"
    assert "l'année dernière" in page.text and "\ufffd" not in page.text
    assert extracted(lying, charset="windows-1252") == dataclasses.replace(page, charset_detected=False)


def test_plain_text_is_taken_as_is_with_whitespace_normalised(routes: list[Route]) -> None:
    notes = route(routes, "plain_text")
    page = extracted(notes)
    assert isinstance(page, ExtractedPage)
    assert page.title is None
    assert page.text == (notes.body or b"").decode().strip() and "\n\n" in page.text
    assert plain_text("  one   two \n\n\n\tthree  \r\nfour\n \t\nfive") == "one two\n\nthree\nfour\n\nfive"


def test_plain_text_keeps_a_text_already_normalised_and_normalises_any_other() -> None:
    """The shortcut for texts already normalised (resiliparse's, mostly) gives what the full normalisation does."""
    rng = random.Random(5)
    alphabet = ["a", "b", " ", " ", "\n", "\n", "\t", "\r", "\xa0", "\u2028", "\x0c", "\x1f", "\x07", "é", "町"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert plain_text(text) == paragraph_text(html_text.BLANK_LINE.split(text)), repr(text)
    assert plain_text("One two.\nThree\n\nFour é 町") == "One two.\nThree\n\nFour é 町"


def test_paragraph_text_drops_empty_lines_and_paragraphs() -> None:
    assert paragraph_text(["  a  b \n\n c", "", " \n ", "d\r\ne"]) == "a b\nc\n\nd\ne"
    assert paragraph_text([]) == ""


def test_decoding_honours_byte_order_marks_and_browser_charset_aliases() -> None:
    text = "Caf\u00e9 \u2019quoted\u2019 \u2014 fine"
    assert decode_body(codecs.BOM_UTF8 + text.encode("utf-8"), "iso-8859-1") == (text, False)
    assert decode_body(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), None) == (text, False)
    assert decode_body(text.encode("cp1252"), "iso-8859-1") == (text, False)  # as browsers read latin-1
    assert decode_body(text.encode("utf-8"), None) == (text, False)
    assert decode_body(text.encode("utf-8"), "no-such-charset") == (text, True)


def test_a_stray_invalid_byte_does_not_send_a_utf8_page_to_detection(routes: list[Route]) -> None:
    french = next(candidate for candidate in routes if candidate.path.startswith("/fr/fr-"))
    body = french.body or b""
    decoded = decode_body(body[:2000] + b"\x92" + body[2000:], "utf-8")  # one cp1252 quote in a UTF-8 page
    assert isinstance(decoded, tuple) and not decoded[1]
    assert "vélo" in decoded[0] and decoded[0].count("\ufffd") == 1


def test_a_body_no_charset_decodes_is_undecodable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_text, "_detect_and_decode", lambda body: None)
    assert decode_body("déjà vu".encode("cp1252"), "utf-8") == UNDECODABLE
    assert extract_page("déjà vu".encode("cp1252"), "text/plain", "utf-8", None, CFG.page_rules()) == UNDECODABLE


def test_content_types() -> None:
    assert page_kind("text/html; charset=utf-8") == "html"
    assert page_kind("application/xhtml+xml") == "html"
    assert page_kind(None) == "html"  # no header: sniffed as HTML, as browsers do
    assert page_kind("TEXT/PLAIN") == "plain"
    assert page_kind("image/png") is None


def test_word_count_counts_each_cjk_character() -> None:
    assert count_words("three plain words") == 3
    assert count_words("町の銭湯 is old") == 6
    assert count_words("") == 0


def test_the_word_threshold_agrees_with_the_word_count() -> None:
    rng = random.Random(3)
    for _ in range(5_000):
        text = "".join(rng.choice(["a", "b", " ", "\n", "\t", "町", "の", "é"]) for _ in range(rng.randint(0, 15)))
        for words in (0, 1, 2, 3, 5, 8):
            assert has_words(text, words) == (count_words(text) >= words), (text, words)


def test_control_characters_are_counted_alike_on_utf8_bytes_and_on_text() -> None:
    rng = random.Random(4)
    alphabet = ["a", " ", "\n", "é", "\x00", "\x07", "\x7f", "\x85", "\x9f", "\xa0", "\ufffd", "\uffef", "\ufeff", "’"]
    for _ in range(5_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        body = text.encode("utf-8")
        assert html_text._control_share(text, body) == html_text._control_share(text, None), repr(text)


def test_giant_pages_are_cut_before_extraction(routes: list[Route]) -> None:
    news = route(routes, "article")
    padded = (news.body or b"") + b"<!--" + b"x" * 5000 + b"-->"
    rules = ExtractConfig(max_chars_per_page=len(padded) - 10).page_rules()
    page = extract_page(padded, news.content_type, "utf-8", news.url, rules)
    assert isinstance(page, ExtractedPage) and page.truncated
