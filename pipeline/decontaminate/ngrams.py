"""Words and n-grams as GPT-2 counted overlaps: lower-case runs of ASCII letters and digits, all else a separator.

With that rule a tokenised evaluation file (WikiText's ``guest @-@ starring``, PTB's ``teddy 's``)
and the running web text it was taken from give the same words. Each word keeps its character
span in the original text, so a matched n-gram maps back to the characters to cut.

Hashing is vectorised, because every document of the corpus goes through it (the counting
pass, the overlap report, the Spark join's workers). A word's hash is a
polynomial over its lower-cased bytes modulo 2^64, read for all words at once from one prefix
sum over the text's UTF-8 bytes (the inverse-power trick), then mixed with the MurmurHash3
finaliser; an n-gram's hash combines its n word hashes the same way. Equal word sequences give
equal hashes in every process and on every machine, so hashes can be stored, joined in Spark or
cached per shard; ``HASH_SCHEME`` names the scheme in every fingerprint of stored hashes.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import numpy as np

HASH_SCHEME = "poly64-fmix-v2"
BASE = 0x100000001B3  # the FNV-64 prime: odd, so invertible modulo 2^64
BASE_INVERSE = pow(BASE, -1, 1 << 64)
WORD_BYTE = np.zeros(256, dtype=bool)
for _first, _last in ((b"0", b"9"), (b"a", b"z"), (b"A", b"Z")):
    WORD_BYTE[_first[0] : _last[0] + 1] = True
LOWER_BYTE = np.arange(256, dtype=np.uint64)
LOWER_BYTE[ord("A") : ord("Z") + 1] += 32
EMPTY_OFFSETS = np.empty(0, dtype=np.int64)


@functools.cache
def _powers(base: int, length: int) -> np.ndarray:
    """``base**i`` modulo 2^64 for i < length (uint64); tables grow in powers of two and are cached."""
    values = np.full(length, base, dtype=np.uint64)
    values[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(values, dtype=np.uint64)


def _table(base: int, length: int) -> np.ndarray:
    return _powers(base, 1 << max(length, 1).bit_length())[:length]


def _fmix64(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint64(33))
        values = values * np.uint64(0xFF51AFD7ED558CCD)
        values = values ^ (values >> np.uint64(33))
        values = values * np.uint64(0xC4CEB9FE1A85EC53)
        return values ^ (values >> np.uint64(33))


@dataclasses.dataclass(frozen=True, slots=True)
class Words:
    """The words of a text: their hashes and their character spans in it."""

    text: str
    hashes: np.ndarray  # uint64, one per word
    starts: np.ndarray  # int64, first character of each word
    ends: np.ndarray  # int64, one past the last character of each word

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def words(self) -> list[str]:
        """The words themselves, lower case (for reading and tests; hashing does not need them)."""
        return [self.text[start:end].lower() for start, end in zip(self.starts.tolist(), self.ends.tolist())]

    def ngrams(self, n: int) -> np.ndarray:
        """The hash of every n-gram, in order: entry ``i`` covers words ``i`` to ``i + n - 1`` (uint64)."""
        count = len(self.hashes) - n + 1
        if count <= 0:
            return np.empty(0, dtype=np.uint64)
        combined = np.zeros(count, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for offset in range(n):  # sum of h[i + k] * BASE^(n-1-k), wrapping modulo 2^64
                combined = combined * np.uint64(BASE) + self.hashes[offset : offset + count]
        return _fmix64(combined)

    def ngrams_of_sizes(self, sizes: tuple[int, ...]) -> dict[int, np.ndarray]:
        """``ngrams(n)`` for every n in ``sizes``, in one pass: an n-gram's polynomial is the (n-1)-gram's times
        BASE plus the next word, so the 13-grams cost 5 steps more than the 8-grams, not 13 (for one size,
        ``ngrams`` is faster)."""
        result = {n: np.empty(0, dtype=np.uint64) for n in sizes}
        combined = np.zeros(len(self.hashes), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for offset in range(min(max(sizes), len(self.hashes))):  # sum of h[i + k] * BASE^(n-1-k), mod 2^64
                count = len(self.hashes) - offset  # (offset + 1)-grams
                combined = combined[:count] * np.uint64(BASE) + self.hashes[offset:]
                if offset + 1 in result:
                    result[offset + 1] = _fmix64(combined)
        return result


def words_of(text: str) -> Words:
    """``text``'s words: lower-case runs of ASCII letters and digits, hashed, with their character spans."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], WORD_BYTE[data].view(np.int8), [0]))))
    starts, ends = edges[0::2], edges[1::2]  # byte offsets
    with np.errstate(over="ignore"):
        weighted = LOWER_BYTE[data] * _table(BASE_INVERSE, len(data))
        prefix = np.concatenate(([np.uint64(0)], np.cumsum(weighted, dtype=np.uint64)))
        hashes = _fmix64((prefix[ends] - prefix[starts]) * _table(BASE, len(data) + 1)[ends - 1])
    if len(data) != len(text):  # not ASCII: byte offsets -> character offsets (count the bytes that start one)
        character_starts = np.concatenate(([0], np.cumsum((data & 0xC0) != 0x80)))
        starts, ends = character_starts[starts], character_starts[ends]
    return Words(text, hashes, starts.astype(np.int64), ends.astype(np.int64))


def ngrams_of_texts(texts: Sequence[Words], n: int) -> np.ndarray:
    """Every n-gram hash of each of ``texts``, none across two of them: one pass over all their words, so a set
    of many short examples (LAMBADA's 5,000 passages) costs as much as one long text."""
    lengths = np.array([len(words) for words in texts], dtype=np.int64)
    if lengths.max(initial=0) < n:
        return np.empty(0, dtype=np.uint64)
    joined = Words("", np.concatenate([words.hashes for words in texts]), EMPTY_OFFSETS, EMPTY_OFFSETS)
    starts = np.cumsum(lengths) - lengths  # each text's first word
    counts = np.maximum(lengths - n + 1, 0)  # its n-grams
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return joined.ngrams(n)[np.repeat(starts, counts) + within]


def distinct(hashes: np.ndarray) -> np.ndarray:
    """The distinct values of ``hashes``, sorted (a sort and a compare: several times faster here than
    ``np.unique``, which hashes)."""
    ordered = np.sort(hashes)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
