"""Words and n-grams as GPT-2 counted overlaps: lower-case runs of ASCII letters and digits, all else a separator.

With that rule a tokenised evaluation file (WikiText's ``guest @-@ starring``, PTB's ``teddy 's``)
and the running web text it was taken from give the same words. Each word keeps its character
span in the original text, so a matched n-gram maps back to the characters to cut.

An n-gram is hashed to 64 bits: every word by BLAKE2b, then the n word hashes combined as a
polynomial modulo 2^64 (numpy, for all n-grams of a text at once) and mixed with the
MurmurHash3 finaliser. Equal word sequences give equal hashes in every process and on every
machine, so hashes can be stored, joined in Spark, or put in a Bloom filter.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

import numpy as np

WORD = re.compile(r"[A-Za-z0-9]+")
POLY_BASE = np.uint64(0x100000001B3)


@dataclasses.dataclass(frozen=True, slots=True)
class Words:
    """The normalised words of a text and their character spans in it."""

    words: list[str]
    starts: np.ndarray  # int64, first character of each word
    ends: np.ndarray  # int64, one past the last character of each word

    def __len__(self) -> int:
        return len(self.words)


def words_of(text: str) -> Words:
    """``text``'s words: lower-case runs of ASCII letters and digits, with their spans."""
    matches = list(WORD.finditer(text))
    words = [match.group().lower() for match in matches]
    starts = np.fromiter((match.start() for match in matches), dtype=np.int64, count=len(matches))
    ends = np.fromiter((match.end() for match in matches), dtype=np.int64, count=len(matches))
    return Words(words, starts, ends)


def normalised_text(text: str) -> str:
    """``text`` as GPT-2's overlap analysis saw it: its words, lower case, separated by single spaces."""
    return " ".join(words_of(text).words)


def word_hashes(words: list[str]) -> np.ndarray:
    """64-bit BLAKE2b of each word (uint64)."""
    digests = b"".join(hashlib.blake2b(word.encode("ascii"), digest_size=8).digest() for word in words)
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def _fmix64(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xFF51AFD7ED558CCD)
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xC4CEB9FE1A85EC53)
    return values ^ (values >> np.uint64(33))


def ngram_hashes(words: list[str], n: int) -> np.ndarray:
    """The hash of every n-gram of ``words``, in order: entry ``i`` covers ``words[i : i + n]`` (uint64)."""
    if len(words) < n:
        return np.empty(0, dtype=np.uint64)
    hashes = word_hashes(words)
    count = len(words) - n + 1
    combined = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(n):  # n vector passes: sum of h[i + k] * B^(n-1-k), wrapping modulo 2^64
            combined = combined * POLY_BASE + hashes[offset : offset + count]
        return _fmix64(combined)


def text_ngrams(text: str, n: int) -> np.ndarray:
    """The distinct n-gram hashes of ``text``, sorted."""
    return np.unique(ngram_hashes(words_of(text).words, n))
