"""One document's text seen as words, lines and paragraphs, each computed once and only when a rule asks.

The heuristic rules run on every document that language ID kept, so their cost is the
filter stage's overhead over the fastText models: everything here leans on ``bytes``/``str``
methods and numpy, which loop in C, and nothing is computed before a rule needs it (a
document that fails the word count never has its n-grams counted). Character classes are
counted on bytes with ``translate``: typographic punctuation is first mapped to its ASCII
twin, which leaves most English web text pure ASCII and every count unchanged.

Lines and paragraphs are Gopher's: a line ends at a newline, a paragraph at a blank line. The
extract stage writes text that way (a blank line between block elements, a newline between the
lines of one, such as list items), so the line rules and the paragraph rules each see real units.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np

# Punctuation removed before measuring word length: ASCII plus the Unicode marks web text is full of.
PUNCTUATION = string.punctuation + "“”‘’«»„‚‹›—–―‐…·•¡¿"
BULLETS = ("•", "●", "○", "◦", "▪", "▫", "■", "□", "‣", "⁃", "∙", "·", "-", "–", "—", "*", "+", ">", "→", "►", "✓")
ELLIPSES = ("...", "…", ". . .")
# A whitespace-delimited token made only of non-letters: digits, underscores, symbols, punctuation.
LETTERLESS_WORD = re.compile(r"(?<!\S)(?:[^\s\w]|[\d_])+(?!\S)")
BLANK_LINE = re.compile(r"\n[^\S\n]*\n")  # a line holding nothing but whitespace separates paragraphs
HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: n-gram hashes are a polynomial in it, mod 2**64
TOP_NGRAM_BUCKETS = 1024  # hash buckets of the cheap upper bound on the top n-gram's share

# Typographic punctuation and its ASCII twin (punctuation for punctuation, whitespace for whitespace,
# so no count below changes).
_TYPOGRAPHIC = {"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-", "…": ".", "\u00a0": " "}
# Characters ``str.split`` treats as whitespace (all of them lie below U+3001).
WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
_ASCII_WHITESPACE = bytes(char for char in WHITESPACE.encode("latin-1", "ignore") if char < 0x80)
_ASCII_LETTERS = string.ascii_letters.encode()
# Deleted before counting a word's letters: ASCII punctuation and whitespace.
_NOT_WORD_LETTER = string.punctuation.encode() + _ASCII_WHITESPACE
# UTF-8 bytes that are not a continuation byte: deleting them leaves one byte per extra byte of a character.
_NOT_CONTINUATION = bytes(range(0x80)) + bytes(range(0xC0, 0x100))
# Non-ASCII characters that are no letters of a word: Unicode punctuation and whitespace, UTF-8 encoded.
_NON_ASCII_UNCOUNTED = tuple(char.encode() for char in sorted(set(PUNCTUATION + WHITESPACE)) if ord(char) > 0x7F)
# ASCII text mapped to " " (whitespace) and "a" (letters), everything else deleted: a word with a letter reads " a".
_LETTER_WORD_TABLE = bytes.maketrans(
    _ASCII_WHITESPACE + _ASCII_LETTERS, b" " * len(_ASCII_WHITESPACE) + b"a" * len(_ASCII_LETTERS)
)
_NEITHER_LETTER_NOR_WHITESPACE = bytes(char for char in range(0x100) if char not in _ASCII_WHITESPACE + _ASCII_LETTERS)


Value = TypeVar("Value")


class lazy(Generic[Value]):
    """``functools.cached_property`` without its per-access lock (Python 3.11 takes one; a page reads ~15 of these).

    A non-data descriptor: the first access stores the value in the instance's ``__dict__``,
    which later accesses read directly.
    """

    def __init__(self, compute: Callable[[Any], Value]) -> None:
        self.compute = compute
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, view: Any, owner: type | None = None) -> Value:
        if view is None:
            return self  # type: ignore[return-value]
        value = view.__dict__[self.name] = self.compute(view)
        return value


class TextView:
    """Lazily computed views of ``text``; rules read the ones they need."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._ngram_hashes: dict[int, np.ndarray] = {}

    @lazy
    def words(self) -> list[str]:
        """Whitespace-separated tokens, punctuation attached (as Gopher counts them)."""
        return self.text.split()

    @lazy
    def word_count(self) -> int:
        return len(self.words)

    @lazy
    def plain(self) -> bytes:
        """The text as UTF-8, typographic punctuation made ASCII: for counts that treat all punctuation alike."""
        text = self.text
        if not text.isascii():
            for typographic, ascii_twin in _TYPOGRAPHIC.items():
                text = text.replace(typographic, ascii_twin)
        return text.encode("utf-8", "surrogatepass")

    @lazy
    def mean_word_length(self) -> float:
        """Characters per word, punctuation excluded (``"word,"`` is four characters)."""
        return word_letters(self.plain) / self.word_count if self.word_count else 0.0

    @lazy
    def symbol_ratio(self) -> float:
        """(``#`` + ellipses) per word: hashtag clouds and truncated teasers score high."""
        text = self.text
        symbols = text.count("#") + text.count("...") + text.count("…")
        return symbols / self.word_count if self.word_count else 0.0

    @lazy
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]

    @lazy
    def bullet_line_share(self) -> float:
        lines = self.lines
        return sum(line.startswith(BULLETS) for line in lines) / len(lines) if lines else 0.0

    @lazy
    def ellipsis_line_share(self) -> float:
        lines = self.lines
        return sum(line.endswith(ELLIPSES) for line in lines) / len(lines) if lines else 0.0

    @lazy
    def alphabetic_word_fraction(self) -> float:
        """Share of words with at least one letter (any script); numbers, symbols and markup debris have none."""
        if not self.word_count:
            return 0.0
        if self.plain.isascii():
            return self._ascii_letter_words / self.word_count
        return 1.0 - len(LETTERLESS_WORD.findall(self.text)) / self.word_count

    def alphabetic_fraction_at_least(self, minimum: float) -> bool:
        """``alphabetic_word_fraction >= minimum``, settled by the ASCII count when that is enough."""
        if self.word_count and self._ascii_letter_words / self.word_count >= minimum:
            return True
        return self.alphabetic_word_fraction >= minimum

    @lazy
    def _ascii_letter_words(self) -> int:
        """Words with an ASCII letter: every word with a letter in ASCII text, a lower bound in any other.

        Each such word becomes a run of "a" after a space; non-ASCII bytes are deleted, which
        can only merge words (at Unicode spaces) or empty them, never add one.
        """
        letters_only = self.plain.translate(_LETTER_WORD_TABLE, _NEITHER_LETTER_NOR_WHITESPACE)
        return (b" " + letters_only).count(b" a")

    def has_stop_words(self, stop_words: frozenset[str], minimum: int) -> bool:
        """Whether at least ``minimum`` distinct ``stop_words`` occur (lower-cased, as bare words).

        Stop words are lower case, so the words as written give a lower bound that usually
        settles it without lower-casing and re-splitting the text.
        """
        if len(stop_words.intersection(self.words)) >= minimum:
            return True
        return self.stop_word_count(stop_words) >= minimum

    def stop_word_count(self, stop_words: frozenset[str]) -> int:
        """How many distinct ``stop_words`` occur (lower-cased, as bare words)."""
        return len(stop_words.intersection(self.text.lower().split()))

    @lazy
    def paragraphs(self) -> list[str]:
        """Blocks separated by blank lines (or lines of whitespace), stripped; a paragraph may span several lines."""
        return [block.strip() for block in BLANK_LINE.split(self.text) if block.strip()]

    @lazy
    def word_hashes(self) -> np.ndarray:
        """One 64-bit hash per word (Python's string hash: only compared within this document)."""
        return np.fromiter(map(hash, self.words), dtype=np.int64, count=self.word_count).view(np.uint64)

    @lazy
    def word_lengths(self) -> np.ndarray:
        return np.fromiter(map(len, self.words), dtype=np.int64, count=self.word_count)

    @lazy
    def total_word_chars(self) -> int:
        return int(self.word_lengths.sum())

    def ngram_hashes(self, n: int) -> np.ndarray:
        """Hash of every word n-gram, in order (``word_count - n + 1`` of them); each n extends the one below."""
        if n == 1:
            return self.word_hashes
        if n not in self._ngram_hashes:
            shorter, hashes = self.ngram_hashes(n - 1), self.word_hashes
            count = max(len(hashes) - n + 1, 0)
            combined = shorter[:count] * HASH_MULTIPLIER
            combined ^= hashes[n - 1 : n - 1 + count]
            self._ngram_hashes[n] = combined
        return self._ngram_hashes[n]

    @lazy
    def _cumulative_chars(self) -> np.ndarray:
        return np.concatenate(([0], np.cumsum(self.word_lengths)))

    def ngram_chars(self, n: int) -> np.ndarray:
        """Characters of every word n-gram (spaces not counted)."""
        cumulative = self._cumulative_chars
        return cumulative[n:] - cumulative[:-n]


def word_letters(plain: bytes) -> int:
    """Characters of ``plain`` (UTF-8) that are neither whitespace nor punctuation."""
    kept = plain.translate(None, _NOT_WORD_LETTER)
    if kept.isascii():
        return len(kept)
    characters = len(kept) - len(kept.translate(None, _NOT_CONTINUATION))
    return characters - sum(kept.count(char) for char in _NON_ASCII_UNCOUNTED)


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


def has_repeats(hashes: np.ndarray) -> bool:
    """Whether any value occurs twice (an unstable sort: cheaper than the ordering ``_sorted_runs`` keeps)."""
    ordered = np.sort(hashes)
    return bool((ordered[1:] == ordered[:-1]).any())


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


def top_ngram_share_exceeds(view: TextView, n: int, max_fraction: float) -> bool:
    """``top_ngram_char_fraction(view, n) > max_fraction``, mostly settled without sorting.

    Summing the characters of all n-grams per hash bucket bounds the top n-gram's (its
    bucket holds all its occurrences, and maybe others): ordinary prose lands far under the
    bound, and only pages above it pay for the exact count.
    """
    if view.word_count < n + 1 or not view.total_word_chars:
        return False
    buckets = (view.ngram_hashes(n) & np.uint64(TOP_NGRAM_BUCKETS - 1)).astype(np.intp)
    bound = np.bincount(buckets, weights=view.ngram_chars(n)).max() / view.total_word_chars
    return bound > max_fraction and top_ngram_char_fraction(view, n) > max_fraction


def duplicate_ngram_char_fraction(view: TextView, n: int) -> float:
    """Characters of words inside repeated word n-grams (every occurrence after the first), counted once.

    A later occurrence of an n-gram covers its n words; overlapping covers count a word once
    (Gopher's definition). The fraction cannot grow with n (a repeated (n+1)-gram holds two
    repeated n-grams), which lets callers stop early.
    """
    if view.word_count < n + 1 or not view.total_word_chars or not has_repeats(view.ngram_hashes(n)):
        return 0.0
    order, repeats = _sorted_runs(view.ngram_hashes(n))
    repeat_starts = np.zeros(view.word_count + 1, dtype=np.int32)
    later = order[repeats]  # stable sort: within a run of equal n-grams, every element after the first
    np.add.at(repeat_starts, later, 1)
    np.subtract.at(repeat_starts, later + n, 1)
    covered = np.cumsum(repeat_starts[:-1]) > 0
    return float(view.word_lengths[covered].sum()) / view.total_word_chars
