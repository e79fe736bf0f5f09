"""Cutting matched n-grams out of a document, as GPT-3 did (Brown et al. 2020, appendix C).

For every n-gram of the document found in a reference (an evaluation set, Wikipedia), the
n-gram's characters plus ``margin`` characters on each side are removed. What remains falls
into pieces; pieces shorter than ``min_piece_chars`` are dropped too; a document cut into more
than ``max_pieces`` pieces is dropped whole. The surviving pieces keep their text byte for
byte, joined by a blank line (a paragraph break).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pipeline.decontaminate.ngrams import Words

PIECE_SEPARATOR = "\n\n"


@dataclasses.dataclass(frozen=True, slots=True)
class CutRules:
    margin: int = 200
    min_piece_chars: int = 200
    max_pieces: int = 10


@dataclasses.dataclass(frozen=True, slots=True)
class Cut:
    """What cutting did to one document: the text left (None: dropped whole) and what went."""

    text: str | None
    pieces: int  # before short pieces were dropped
    removed: list[tuple[int, int]]  # character spans of the original text that were cut, merged, in order

    @property
    def removed_chars(self) -> int:
        return sum(end - start for start, end in self.removed)


def matched_spans(words: Words, matched: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Character spans of the matched n-grams (``matched[i]``: the n-gram starting at word ``i`` matched)."""
    firsts = np.flatnonzero(matched)
    return [(int(words.starts[i]), int(words.ends[i + n - 1])) for i in firsts]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def cut(text: str, spans: list[tuple[int, int]], rules: CutRules) -> Cut:
    """``text`` without ``spans`` (each widened by the margin), its short pieces dropped; see the module doc."""
    if not spans:
        return Cut(text, 1, [])
    widened = _merge([(max(0, start - rules.margin), min(len(text), end + rules.margin)) for start, end in spans])
    pieces, position = [], 0
    for start, end in widened:
        if start > position:
            pieces.append((position, start))
        position = end
    if position < len(text):
        pieces.append((position, len(text)))
    kept = [(start, end) for start, end in pieces if len(text[start:end].strip()) >= rules.min_piece_chars]
    removed = _merge(widened + [piece for piece in pieces if piece not in kept])
    if len(pieces) > rules.max_pieces or not kept:
        return Cut(None, len(pieces), [(0, len(text))])
    return Cut(PIECE_SEPARATOR.join(text[start:end] for start, end in kept), len(pieces), removed)
