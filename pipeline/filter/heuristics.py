"""Gopher-style quality rules: each looks at one property of a text and returns a reason to drop it, or None.

Rules run cheapest first and stop at the first failure, so most of a page's cost is paid
only by pages that pass everything. Every threshold comes from ``HeuristicConfig``; a
value exactly at a bound passes (bounds are inclusive).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from pipeline.filter.config import HeuristicConfig
from pipeline.filter.text_view import (
    TextView,
    duplicate_fraction,
    duplicate_ngram_char_fraction,
    top_ngram_share_exceeds,
)

Rule = Callable[[TextView, HeuristicConfig], str | None]


def word_count(view: TextView, cfg: HeuristicConfig) -> str | None:
    if view.word_count < cfg.min_words:
        return "too_few_words"
    if view.word_count > cfg.max_words:
        return "too_many_words"
    return None


def mean_word_length(view: TextView, cfg: HeuristicConfig) -> str | None:
    in_bounds = cfg.min_mean_word_length <= view.mean_word_length <= cfg.max_mean_word_length
    return None if in_bounds else "mean_word_length"


def symbol_ratio(view: TextView, cfg: HeuristicConfig) -> str | None:
    return "symbol_ratio" if view.symbol_ratio > cfg.max_symbol_ratio else None


def bullet_lines(view: TextView, cfg: HeuristicConfig) -> str | None:
    return "bullet_lines" if view.bullet_line_share > cfg.max_bullet_line_share else None


def ellipsis_lines(view: TextView, cfg: HeuristicConfig) -> str | None:
    return "ellipsis_lines" if view.ellipsis_line_share > cfg.max_ellipsis_line_share else None


def alphabetic_words(view: TextView, cfg: HeuristicConfig) -> str | None:
    return None if view.alphabetic_fraction_at_least(cfg.min_alphabetic_word_fraction) else "non_alphabetic_words"


def stop_words(view: TextView, cfg: HeuristicConfig) -> str | None:
    if cfg.min_stop_words == 0:
        return None
    return None if view.has_stop_words(_stop_word_set(cfg.stop_words), cfg.min_stop_words) else "few_stop_words"


@functools.lru_cache(maxsize=8)
def _stop_word_set(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(words)


def repeated_lines(view: TextView, cfg: HeuristicConfig) -> str | None:
    share, char_share = duplicate_fraction(view.lines)
    too_many = share > cfg.max_duplicate_line_fraction or char_share > cfg.max_duplicate_line_char_fraction
    return "repeated_lines" if too_many else None


def repeated_paragraphs(view: TextView, cfg: HeuristicConfig) -> str | None:
    share, char_share = duplicate_fraction(view.paragraphs)
    too_many = share > cfg.max_duplicate_paragraph_fraction or char_share > cfg.max_duplicate_paragraph_char_fraction
    return "repeated_paragraphs" if too_many else None


def top_ngrams(view: TextView, cfg: HeuristicConfig) -> str | None:
    for n, max_fraction in cfg.top_ngram_max_fraction:
        if top_ngram_share_exceeds(view, n, max_fraction):
            return "repeated_top_ngram"
    return None


def duplicate_ngrams(view: TextView, cfg: HeuristicConfig) -> str | None:
    """Smallest n first: its fraction bounds every larger n's, so a page below the loosest bound is done."""
    limits = sorted(cfg.duplicate_ngram_max_fraction)
    for position, (n, max_fraction) in enumerate(limits):
        fraction = duplicate_ngram_char_fraction(view, n)
        if fraction > max_fraction:
            return "repeated_ngrams"
        if fraction <= min(limit for _, limit in limits[position:]):
            return None  # no larger n can exceed a bound this fraction is already under
    return None


RULES: tuple[Rule, ...] = (
    word_count,
    mean_word_length,
    symbol_ratio,
    bullet_lines,
    ellipsis_lines,
    alphabetic_words,
    stop_words,
    repeated_lines,
    repeated_paragraphs,
    top_ngrams,
    duplicate_ngrams,
)


def check_text(text: str, cfg: HeuristicConfig, language: str | None = None) -> str | None:
    """The first rule ``text`` fails, or None when it passes them all (or they are off, or not for ``language``)."""
    if not cfg.enabled or (language is not None and language not in cfg.languages):
        return None
    view = TextView(text)
    for rule in RULES:
        reason = rule(view, cfg)
        if reason is not None:
            return reason
    return None
