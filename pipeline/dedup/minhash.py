"""MinHash signatures of documents, bit-for-bit those of ``datasketch.MinHash`` (scheme ``affine32``).

A document's set is its word 5-gram shingles after normalisation (lower case; words are
runs of letters, digits and marks; every CJK, Thai, Lao, Khmer or Myanmar character is a
word of its own because those scripts do not separate words with spaces). Each shingle is hashed to 32 bits by
``shingle_hash``; datasketch then applies, per permutation ``k``, ``a_k * fmix32(h) + b_k``
modulo 2^32 with ``(a, b)`` drawn from ``numpy.random.RandomState(seed)``, and keeps the
minimum. ``document_signature`` does exactly that, vectorised, so
``MinHash(num_perm, seed, hashfunc=shingle_hash).update_batch(shingles(text))`` gives the
same hash values (tests check it), while the stage runs 20-50x faster than calling
``MinHash.update`` per shingle.

Why not datasketch's default SHA-1 of each shingle: it costs one Python call per shingle.
``shingle_hash`` is a polynomial hash over the shingle's code points modulo 2^64, which
numpy evaluates for every shingle of a document at once from one prefix sum over the
normalised text, followed by the MurmurHash3 64-bit finaliser; the high 32 bits are the
shingle's hash. Normalisation itself is array operations over the UTF-32 code points.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

UINT64 = 1 << 64
POLY_BASE = 0x100000001B3  # the FNV-64 prime: odd, so invertible modulo 2^64
POLY_BASE_INVERSE = pow(POLY_BASE, -1, UINT64)
EMPTY_HASH = np.uint32(0xFFFFFFFF)  # datasketch's value for a permutation that saw no shingle
ROWS_PER_CHUNK = 4096  # shingles per (permutations x rows) block: bounds memory for very long documents
SPACE = 0x20
SEPARATOR, WORD_CHAR, SINGLE_CHAR_WORD = 0, 1, 2
# Scripts written without spaces between words: each of their characters is a word.
UNSPACED_RANGES = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3040, 0x30FF), (0x3400, 0x4DBF))
UNSPACED_RANGES += ((0x4E00, 0x9FFF), (0xF900, 0xFAFF))


@functools.cache
def _character_classes() -> np.ndarray:
    """Class of every BMP code point: letters, digits and marks form words; all else separates them."""
    classes = np.zeros(0x10000, dtype=np.uint8)
    for code in range(0x10000):
        if unicodedata.category(chr(code))[0] in "LNM":
            classes[code] = WORD_CHAR
    for first, last in UNSPACED_RANGES:
        classes[first : last + 1] = SINGLE_CHAR_WORD
    return classes


def _classify(code_points: np.ndarray) -> np.ndarray:
    """Characters beyond the BMP (emoji, rare ideographs) are words of one character each."""
    classes = _character_classes()
    return np.where(code_points < 0x10000, classes[np.minimum(code_points, 0xFFFF)], SINGLE_CHAR_WORD)


def normalised_words(text: str) -> list[str]:
    """Lower-cased words of ``text``: punctuation, markup remnants and spacing no longer tell copies apart.

    The per-character reference for ``_normalised_code_points`` (which tests hold to it).
    """
    classes = _character_classes()
    words, current = [], []
    for character in text.lower():
        code = ord(character)
        kind = classes[code] if code < 0x10000 else SINGLE_CHAR_WORD
        if kind != WORD_CHAR and current:
            words.append("".join(current))
            current = []
        if kind == WORD_CHAR:
            current.append(character)
        elif kind == SINGLE_CHAR_WORD:
            words.append(character)
    if current:
        words.append("".join(current))
    return words


def _normalised_code_points(text: str) -> tuple[np.ndarray, int]:
    """(the normalised text as UTF-32 code points, its number of words), computed with array operations."""
    code_points = np.frombuffer(text.lower().encode("utf-32-le"), dtype=np.uint32)
    classes = _classify(code_points)
    in_word = classes == WORD_CHAR
    previous_in_word = np.concatenate(([False], in_word[:-1]))
    starts = (in_word & ~previous_in_word) | (classes == SINGLE_CHAR_WORD)
    kept = classes != SEPARATOR
    word_index = np.cumsum(starts)[kept] - 1  # the word each kept character belongs to
    n_words = int(word_index[-1]) + 1 if len(word_index) else 0
    normalised = np.full(max(len(word_index) + n_words - 1, 0), SPACE, dtype=np.uint32)
    normalised[np.arange(len(word_index)) + word_index] = code_points[kept]  # one space before each later word
    return normalised, n_words


def normalised_text(text: str) -> str:
    return " ".join(normalised_words(text))


def text_hash(text: str) -> str:
    """Exact-duplicate key: BLAKE2b-128 of the normalised text, as hex."""
    normalised, _ = _normalised_code_points(text)
    return hashlib.blake2b(normalised.tobytes(), digest_size=16).hexdigest()


def shingles(text: str, size: int = 5) -> list[bytes]:
    """The word ``size``-grams of ``text`` as UTF-8 bytes; a shorter text is one shingle, an empty one none."""
    words = normalised_words(text)
    if len(words) <= size:
        return [" ".join(words).encode("utf-8")] if words else []
    return [" ".join(words[start : start + size]).encode("utf-8") for start in range(len(words) - size + 1)]


def _fmix64(value: int) -> int:
    value ^= value >> 33
    value = (value * 0xFF51AFD7ED558CCD) % UINT64
    value ^= value >> 33
    value = (value * 0xC4CEB9FE1A85EC53) % UINT64
    return value ^ (value >> 33)


def shingle_hash(shingle: bytes) -> int:
    """32-bit hash of one UTF-8 shingle: polynomial over its code points modulo 2^64, then fmix64, high half.

    The reference the vectorised ``shingle_hashes`` must equal, and the ``hashfunc`` datasketch is given.
    """
    total, power = 0, 1
    for character in shingle.decode("utf-8"):
        total = (total + ord(character) * power) % UINT64
        power = (power * POLY_BASE) % UINT64
    return _fmix64(total) >> 32


FMIX_CONSTANTS = {  # MurmurHash3's finalisers: (shift, multiplier, shift, multiplier, shift) per width
    32: (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16)),
    64: (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(33), np.uint64(0xC4CEB9FE1A85EC53), np.uint64(33)),
}


def _fmix_array(values: np.ndarray, width: int) -> np.ndarray:
    """MurmurHash3's finaliser on every element; at width 32 it is datasketch's affine32 pre-mix."""
    first_shift, first_multiplier, second_shift, second_multiplier, third_shift = FMIX_CONSTANTS[width]
    values = values ^ (values >> first_shift)
    values = values * first_multiplier
    values = values ^ (values >> second_shift)
    values = values * second_multiplier
    return values ^ (values >> third_shift)


class _Powers:
    """``POLY_BASE**j`` and its inverse modulo 2^64 for j < n, grown on demand and shared by all calls."""

    def __init__(self) -> None:
        self.forward = np.ones(1, dtype=np.uint64)
        self.inverse = np.ones(1, dtype=np.uint64)

    def ensure(self, length: int) -> None:
        if length <= len(self.forward):
            return
        size = max(length, 2 * len(self.forward))
        with np.errstate(over="ignore"):
            forward = np.cumprod(np.full(size - 1, POLY_BASE, dtype=np.uint64))
            inverse = np.cumprod(np.full(size - 1, POLY_BASE_INVERSE, dtype=np.uint64))
        self.forward = np.concatenate(([np.uint64(1)], forward))  # P**0 .. P**(size-1)
        self.inverse = np.concatenate(([np.uint64(1)], inverse))


_POWERS = _Powers()


def _span_hashes(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Polynomial hash modulo 2^64 of each span ``data[start:end]``, all spans at once from one prefix sum."""
    _POWERS.ensure(len(data) + 1)
    prefix = np.zeros(len(data) + 1, dtype=np.uint64)
    np.cumsum(data.astype(np.uint64) * _POWERS.forward[: len(data)], out=prefix[1:])
    return (prefix[ends] - prefix[starts]) * _POWERS.inverse[starts]


def shingle_hashes(text: str, size: int = 5) -> np.ndarray:
    """``shingle_hash`` of every shingle of ``text`` (uint32), without a Python loop over words."""
    return _shingle_hashes(*_normalised_code_points(text), size)


def _shingle_hashes(normalised: np.ndarray, n_words: int, size: int) -> np.ndarray:
    if not n_words:
        return np.empty(0, dtype=np.uint32)
    spaces = np.flatnonzero(normalised == SPACE)
    word_starts = np.concatenate(([0], spaces + 1))
    word_ends = np.concatenate((spaces, [len(normalised)]))
    count = max(n_words - size + 1, 1)
    last_word = np.minimum(np.arange(count) + size - 1, n_words - 1)
    hashes = _span_hashes(normalised, word_starts[:count], word_ends[last_word])
    return (_fmix_array(hashes, 64) >> np.uint64(32)).astype(np.uint32)


@dataclass(frozen=True, slots=True)
class Permutations:
    """datasketch's affine32 permutation parameters for ``(num_perm, seed)``."""

    a: np.ndarray  # (num_perm,) uint32, odd
    b: np.ndarray  # (num_perm,) uint32

    @classmethod
    def make(cls, num_perm: int, seed: int) -> Permutations:
        generator = np.random.RandomState(seed)
        a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
        return cls(a, b)


def signature_of_hashes(hashes: np.ndarray, permutations: Permutations) -> np.ndarray:
    """Minimum over shingles of each permutation of their hashes: the (num_perm,) uint32 signature."""
    signature = np.full(len(permutations.a), EMPTY_HASH, dtype=np.uint32)
    mixed = _fmix_array(hashes, 32)
    for start in range(0, len(mixed), ROWS_PER_CHUNK):
        block = np.multiply.outer(permutations.a, mixed[start : start + ROWS_PER_CHUNK])  # (num_perm, rows)
        block += permutations.b[:, None]
        np.minimum(signature, block.min(axis=1), out=signature)
    return signature


def document_signature(text: str, permutations: Permutations, shingle_size: int = 5) -> tuple[np.ndarray, int]:
    """(signature, number of shingles) of one document; no shingles gives datasketch's empty signature."""
    hashes = shingle_hashes(text, shingle_size)
    return signature_of_hashes(hashes, permutations), len(hashes)


@dataclass(frozen=True, slots=True)
class Sketch:
    """What dedup keeps of a document: its exact-duplicate key and its MinHash signature."""

    text_hash: str
    signature: np.ndarray  # (num_perm,) uint32
    n_shingles: int


def sketch(text: str, permutations: Permutations, shingle_size: int = 5) -> Sketch:
    """Exact key and signature from one normalisation of ``text``."""
    normalised, n_words = _normalised_code_points(text)
    key = hashlib.blake2b(normalised.tobytes(), digest_size=16).hexdigest()
    hashes = _shingle_hashes(normalised, n_words, shingle_size)
    return Sketch(key, signature_of_hashes(hashes, permutations), len(hashes))


def signatures(
    texts: Sequence[str], permutations: Permutations, shingle_size: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Signatures of many documents: ((n, num_perm) uint32, (n,) shingle counts)."""
    matrix = np.empty((len(texts), len(permutations.a)), dtype=np.uint32)
    counts = np.empty(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        matrix[row], counts[row] = document_signature(text, permutations, shingle_size)
    return matrix, counts


def estimated_jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """Share of equal signature values: datasketch's ``MinHash.jaccard``."""
    return float(np.count_nonzero(first == second)) / len(first)
