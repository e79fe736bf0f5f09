"""One document's text seen as words, lines and paragraphs, each computed once and only when a rule asks.

The heuristic rules run on every document that language ID kept, so their cost is the
filter stage's overhead over the fastText models: everything here leans on ``str`` methods
and numpy, which loop in C, and nothing is computed before a rule needs it (a document
that fails the word count never has its n-grams counted).
"""

from __future__ import annotations

import re
import string
from functools import cached_property

import numpy as np

# Punctuation removed before measuring word length: ASCII plus the Unicode marks web text is full of.
PUNCTUATION = string.punctuation + "“”‘’«»„‚‹›—–―‐…·•¡¿"
_DELETE_PUNCTUATION = str.maketrans("", "", PUNCTUATION)
BULLETS = ("•", "●", "○", "◦", "▪", "▫", "■", "□", "‣", "⁃", "∙", "·", "-", "–", "—", "*", "+", ">", "→", "►", "✓")
ELLIPSES = ("...", "…", ". . .")
# A whitespace-delimited token made only of non-letters: digits, underscores, symbols, punctuation.
LETTERLESS_WORD = re.compile(r"(?<!\S)(?:[^\s\w]|[\d_])+(?!\S)")
HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: n-gram hashes are a polynomial in it, mod 2**64


class TextView:
    """Lazily computed views of ``text``; rules read the ones they need."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def words(self) -> list[str]:
        """Whitespace-separated tokens, punctuation attached (as Gopher counts them)."""
        return self.text.split()

    @cached_property
    def word_count(self) -> int:
        return len(self.words)

    @cached_property
    def mean_word_length(self) -> float:
        """Characters per word, punctuation excluded (``"word,"`` is four characters)."""
        letters = len("".join(self.words).translate(_DELETE_PUNCTUATION))
        return letters / self.word_count if self.word_count else 0.0

    @cached_property
    def symbol_ratio(self) -> float:
        """(``#`` + ellipses) per word: hashtag clouds and truncated teasers score high."""
        text = self.text
        symbols = text.count("#") + text.count("...") + text.count("…")
        return symbols / self.word_count if self.word_count else 0.0

    @cached_property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]

    @cached_property
    def bullet_line_share(self) -> float:
        lines = self.lines
        return sum(line.startswith(BULLETS) for line in lines) / len(lines) if lines else 0.0

    @cached_property
    def ellipsis_line_share(self) -> float:
        lines = self.lines
        return sum(line.endswith(ELLIPSES) for line in lines) / len(lines) if lines else 0.0

    @cached_property
    def alphabetic_word_fraction(self) -> float:
        """Share of words with at least one letter (any script); numbers, symbols and markup debris have none."""
        if not self.word_count:
            return 0.0
        return 1.0 - len(LETTERLESS_WORD.findall(self.text)) / self.word_count

    def stop_word_count(self, stop_words: frozenset[str]) -> int:
        """How many distinct ``stop_words`` occur (lower-cased, as bare words)."""
        return len(stop_words.intersection(self.text.lower().split()))

    @cached_property
    def paragraphs(self) -> list[str]:
        """Blocks separated by blank lines (extract writes one paragraph per line, so lines matter more there)."""
        return [block.strip() for block in self.text.split("\n\n") if block.strip()]

    @cached_property
    def word_hashes(self) -> np.ndarray:
        """One 64-bit hash per word (Python's string hash: only compared within this document)."""
        return np.fromiter(map(hash, self.words), dtype=np.int64, count=self.word_count).view(np.uint64)

    @cached_property
    def word_lengths(self) -> np.ndarray:
        return np.fromiter(map(len, self.words), dtype=np.int64, count=self.word_count)

    @cached_property
    def total_word_chars(self) -> int:
        return int(self.word_lengths.sum())

    def ngram_hashes(self, n: int) -> np.ndarray:
        """Hash of every word n-gram, in order (``word_count - n + 1`` of them)."""
        hashes = self.word_hashes
        combined = hashes[: len(hashes) - n + 1].copy()
        for offset in range(1, n):
            combined *= HASH_MULTIPLIER
            combined ^= hashes[offset : len(hashes) - n + 1 + offset]
        return combined

    def ngram_chars(self, n: int) -> np.ndarray:
        """Characters of every word n-gram (spaces not counted)."""
        cumulative = np.concatenate(([0], np.cumsum(self.word_lengths)))
        return cumulative[n:] - cumulative[:-n]


def duplicate_fraction(items: list[str]) -> tuple[float, float]:
    """(share of items that repeat an earlier one, share of characters in those repeats)."""
    seen: set[str] = set()
    repeats = repeated_chars = total_chars = 0
    for item in items:
        total_chars += len(item)
        if item in seen:
            repeats += 1
            repeated_chars += len(item)
        else:
            seen.add(item)
    if not items:
        return 0.0, 0.0
    return repeats / len(items), repeated_chars / total_chars if total_chars else 0.0


def _sorted_runs(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(stable sort order of ``hashes``, mask over the sorted order: equal to the previous element)."""
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    repeats = np.empty(len(hashes), dtype=bool)
    repeats[0] = False
    np.equal(ordered[1:], ordered[:-1], out=repeats[1:])
    return order, repeats


def top_ngram_char_fraction(view: TextView, n: int) -> float:
    """Characters covered by the most frequent word n-gram (count x its characters) over all word characters."""
    if view.word_count < n + 1 or not view.total_word_chars:
        return 0.0
    order, repeats = _sorted_runs(view.ngram_hashes(n))
    if not repeats.any():
        return 0.0
    starts = np.flatnonzero(~repeats)
    run_chars = np.add.reduceat(view.ngram_chars(n)[order], starts)  # count x chars: equal n-grams, equal chars
    run_lengths = np.diff(np.append(starts, len(order)))
    run_chars[run_lengths < 2] = 0  # an n-gram seen once is not repetition
    return float(run_chars.max()) / view.total_word_chars


def duplicate_ngram_char_fraction(view: TextView, n: int) -> float:
    """Characters of words inside repeated word n-grams (every occurrence after the first), counted once.

    A later occurrence of an n-gram covers its n words; overlapping covers count a word once
    (Gopher's definition). The fraction cannot grow with n (a repeated (n+1)-gram holds two
    repeated n-grams), which lets callers stop early.
    """
    if view.word_count < n + 1 or not view.total_word_chars:
        return 0.0
    order, repeats = _sorted_runs(view.ngram_hashes(n))
    if not repeats.any():
        return 0.0
    repeat_starts = np.zeros(view.word_count + 1, dtype=np.int32)
    later = order[repeats]  # stable sort: within a run of equal n-grams, every element after the first
    np.add.at(repeat_starts, later, 1)
    np.subtract.at(repeat_starts, later + n, 1)
    covered = np.cumsum(repeat_starts[:-1]) > 0
    return float(view.word_lengths[covered].sum()) / view.total_word_chars
