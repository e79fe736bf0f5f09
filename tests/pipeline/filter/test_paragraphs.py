"""The paragraph rules see the paragraphs extract writes: blank lines between blocks, newlines within one."""

from __future__ import annotations

import re

import pytest

from pipeline.extract.config import BACKENDS, ExtractConfig
from pipeline.extract.html_text import ExtractedPage, extract_page
from pipeline.filter.config import HeuristicConfig
from pipeline.filter.fasttext_models import one_line
from pipeline.filter.heuristics import check_text, repeated_lines, repeated_paragraphs
from pipeline.filter.language import identify_language
from pipeline.filter.text_view import TextView
from pipeline.sample.corpus import ARTICLES

CFG = HeuristicConfig()
NOTE = "The committee will meet again next month to review these findings in public."


def page_with_a_repeated_paragraph() -> str:
    """Six paragraphs of four lines (``<br>``), and after five of them the same one-line note."""
    article = next(article for article in ARTICLES if article.kind == "article" and article.language == "en")
    sentences = [sentence for paragraph in article.paragraphs for sentence in re.split(r"(?<=\.) ", paragraph)]
    blocks = ["<br>".join(sentences[index * 4 : index * 4 + 4]) for index in range(6)]
    body = "".join(f"<p>{block}</p>" + (f"<p>{NOTE}</p>" if index < 5 else "") for index, block in enumerate(blocks))
    return f"<html><body><article><h1>{article.title}</h1>{body}</article></body></html>"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_page_repeating_a_paragraph_is_caught_by_repeated_paragraphs(backend: str) -> None:
    rules = ExtractConfig(backend=backend).page_rules()
    page = extract_page(page_with_a_repeated_paragraph().encode(), "text/html", "utf-8", None, rules)
    assert isinstance(page, ExtractedPage) and page.text.count(NOTE) == 5
    view = TextView(page.text)
    assert view.paragraphs.count(NOTE) == 5 and any("\n" in paragraph for paragraph in view.paragraphs)
    assert repeated_lines(view, CFG) is None  # 4 of ~30 lines repeat: the line rule lets it pass
    assert check_text(page.text, CFG) == "repeated_paragraphs"  # 4 of 12 paragraphs repeat
    one_line_per_paragraph = page.text.replace("\n\n", "\n")  # what extract wrote before: no paragraphs at all
    assert repeated_paragraphs(TextView(one_line_per_paragraph), CFG) is None


def test_paragraphs_span_lines_and_end_at_blank_or_whitespace_lines() -> None:
    text = "first line\nsecond line\n\nnext paragraph\n \t\nlast\n\n\n"
    assert TextView(text).paragraphs == ["first line\nsecond line", "next paragraph", "last"]
    assert TextView(text).lines == ["first line", "second line", "next paragraph", "last"]


def test_fasttext_sees_the_same_words_whatever_the_paragraph_breaks() -> None:
    article = next(article for article in ARTICLES if article.kind == "article" and article.language == "en")
    paragraphed, one_per_line = "\n\n".join(article.paragraphs), "\n".join(article.paragraphs)
    assert "\n" not in one_line(paragraphed) and one_line(paragraphed).split() == one_line(one_per_line).split()
    assert identify_language(paragraphed) == identify_language(one_per_line)
