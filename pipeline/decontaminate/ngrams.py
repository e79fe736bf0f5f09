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
cached per shard; ``HASH_SCHEME`` names the scheme in every fingerprint of stored hashes. A word's hash
does not depend on where it stands, so the stage hashes a batch of documents joined by line breaks at
once (``joined_words``): the same hashes, for a few NumPy calls per batch instead of per document.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence

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
EMPTY_HASHES = np.empty(0, dtype=np.uint64)
BATCH_CHARS = 1 << 17  # text hashed at once (joined_words): arrays of 8 bytes a character, in cache


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


def _word_bytes(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The byte offsets where the words of UTF-8 ``data`` start and end."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], WORD_BYTE[data].view(np.int8), [0]))))
    return edges[0::2], edges[1::2]


def _word_hashes(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Each word's hash, from one prefix sum over ``data``: the same for a word wherever it stands."""
    with np.errstate(over="ignore"):
        weighted = LOWER_BYTE[data] * _table(BASE_INVERSE, len(data))
        prefix = np.concatenate(([np.uint64(0)], np.cumsum(weighted, dtype=np.uint64)))
        return _fmix64((prefix[ends] - prefix[starts]) * _table(BASE, len(data) + 1)[ends - 1])


def words_of(text: str) -> Words:
    """``text``'s words: lower-case runs of ASCII letters and digits, hashed, with their character spans."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    starts, ends = _word_bytes(data)
    hashes = _word_hashes(data, starts, ends)
    if len(data) != len(text):  # not ASCII: byte offsets -> character offsets (count the bytes that start one)
        character_starts = np.concatenate(([0], np.cumsum((data & 0xC0) != 0x80)))
        starts, ends = character_starts[starts], character_starts[ends]
    return Words(text, hashes, starts.astype(np.int64), ends.astype(np.int64))


def joined_words(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The word hashes of all ``texts`` (as ``words_of`` gives them), found in one pass over the texts joined by a
    line break, and where each text's words end: text ``k``'s are ``hashes[ends[k - 1]:ends[k]]``. A few NumPy calls
    for a whole batch of documents instead of a few per document, which cost more than the hashing itself."""
    encoded = [text.encode("utf-8") for text in texts]
    data = np.frombuffer(b"\n".join(encoded), dtype=np.uint8)  # a separator: no word runs across two texts
    starts, ends = _word_bytes(data)
    text_ends = np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)) + 1) - 1
    return _word_hashes(data, starts, ends), np.searchsorted(starts, text_ends)


def text_batches(texts: Sequence[str], batch_chars: int = BATCH_CHARS) -> Iterator[tuple[int, int]]:
    """Consecutive ranges ``[start, stop)`` of ``texts`` of about ``batch_chars`` characters each (at least one
    text): what ``joined_words`` hashes at once, so that memory stays one batch's whatever the shard's size."""
    start, chars = 0, 0
    for stop, text in enumerate(texts, start=1):
        chars += len(text)
        if chars >= batch_chars:
            yield start, stop
            start, chars = stop, 0
    if start < len(texts):
        yield start, len(texts)


def texts_words(texts: Sequence[str], batch_chars: int = BATCH_CHARS) -> tuple[np.ndarray, np.ndarray]:
    """``joined_words`` of all ``texts``, hashed a batch (``text_batches``) at a time, so that the tables of powers
    stay a batch's size (an evaluation set's examples)."""
    hashes, ends, words = [EMPTY_HASHES], [EMPTY_OFFSETS], 0
    for start, stop in text_batches(texts, batch_chars):
        batch_hashes, batch_ends = joined_words(texts[start:stop])
        hashes.append(batch_hashes)
        ends.append(batch_ends + words)
        words += len(batch_hashes)
    return np.concatenate(hashes), np.concatenate(ends)


def joined_ngrams(hashes: np.ndarray, sizes: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Per n in ``sizes``, the n-gram hashes of ``joined_words``' hashes, those across two texts included
    (``within`` selects the others; a search can drop them after finding the few that match)."""
    words = Words("", hashes, EMPTY_OFFSETS, EMPTY_OFFSETS)
    return {n: words.ngrams(n) for n in sizes} if len(set(sizes)) == 1 else words.ngrams_of_sizes(sizes)


def within(ends: np.ndarray, n: int) -> np.ndarray:
    """The indexes of the joined n-grams that lie inside one text (text ``k``'s words end at ``ends[k]``)."""
    lengths = np.diff(ends, prepend=0)
    counts = np.maximum(lengths - n + 1, 0)  # each text's n-grams
    firsts = ends - lengths  # each text's first word
    return np.repeat(firsts, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def ngrams_within(hashes: np.ndarray, ends: np.ndarray, n: int) -> np.ndarray:
    """The n-gram hashes of ``joined_words``' texts, in order, none across two of them."""
    if len(hashes) < n:
        return np.empty(0, dtype=np.uint64)
    return Words("", hashes, EMPTY_OFFSETS, EMPTY_OFFSETS).ngrams(n)[within(ends, n)]


def distinct(hashes: np.ndarray) -> np.ndarray:
    """The distinct values of ``hashes``, sorted (a sort and a compare: several times faster here than
    ``np.unique``, which hashes)."""
    ordered = np.sort(hashes)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
