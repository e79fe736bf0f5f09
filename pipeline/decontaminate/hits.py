"""Which reference n-grams each document of a shard holds, found in batches of documents.

Looking a document's few hundred hashes up on its own costs more in NumPy calls than in searching;
a shard's documents therefore come in batches (``add_joined``), and only the (document, hash) pairs
found are kept. A binary search of a million unsorted hashes in a large reference misses the cache at
every step, so a batch first goes through a table of the references' leading hash bits (hashes are
uniform: with 16 slots per reference hash, about 6% pass); those that pass are searched in each
reference about ``BATCH_NGRAMS`` at a time. Memory is the table and one batch plus the pairs found,
whatever the shard's size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

BATCH_NGRAMS = 1 << 20
PREFILTER_SLOTS_PER_HASH = 16
PREFILTER_MAX_BITS = 26  # a 64 MB table at most (a Wikipedia reference larger than 4 M hashes passes more)
EMPTY_HASHES = np.empty(0, dtype=np.uint64)
EMPTY_POSITIONS = np.empty(0, dtype=np.int64)


def contains(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values[i] in sorted_values`` for every i, by binary search."""
    if not len(sorted_values):
        return np.zeros(len(values), dtype=bool)
    positions = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[positions] == values


@dataclasses.dataclass(frozen=True, slots=True)
class Hits:
    """Distinct (document position, hash) pairs, ordered by position, then hash."""

    positions: np.ndarray  # int64
    hashes: np.ndarray  # uint64

    @classmethod
    def of(cls, positions: np.ndarray, hashes: np.ndarray) -> Hits:
        """The pairs in order, each once."""
        order = np.lexsort((hashes, positions))
        positions, hashes = positions[order].astype(np.int64), hashes[order].astype(np.uint64)
        if len(order) > 1:
            first = np.concatenate(([True], (positions[1:] != positions[:-1]) | (hashes[1:] != hashes[:-1])))
            positions, hashes = positions[first], hashes[first]
        return cls(positions, hashes)

    def documents(self) -> list[int]:
        """The positions of the documents holding any hash, ascending."""
        return np.unique(self.positions).tolist()


@dataclasses.dataclass(frozen=True, slots=True)
class HashSets:
    """Named sorted hash arrays (the references), and which values of a hash's leading bits occur in any of them:
    built once, searched by every shard's ``HitFinder``."""

    references: Mapping[str, np.ndarray]  # name -> sorted distinct hashes
    table: np.ndarray  # bool, indexed by a hash's leading bits
    shift: np.uint64  # hash >> shift: its leading bits

    @classmethod
    def of(cls, references: Mapping[str, np.ndarray]) -> HashSets:
        total = sum(len(reference) for reference in references.values())
        bits = min(PREFILTER_MAX_BITS, max(8, (total * PREFILTER_SLOTS_PER_HASH).bit_length()))
        shift = np.uint64(64 - bits)
        table = np.zeros(1 << bits, dtype=bool)
        for reference in references.values():
            table[reference >> shift] = True
        return cls(references, table, shift)


class HitFinder:
    """Feed it batches of documents' n-gram hashes (``add_joined``); ``finish`` gives, per reference, the pairs found
    in it."""

    def __init__(self, sets: HashSets, batch_ngrams: int = BATCH_NGRAMS) -> None:
        self.sets = sets
        self.batch_ngrams = batch_ngrams
        self._passed: list[tuple[np.ndarray, np.ndarray]] = []  # (positions, hashes) through the table, not searched
        self._passed_ngrams = 0
        self._found: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {name: [] for name in sets.references}

    def add_joined(self, positions: np.ndarray, ends: np.ndarray, ngrams: np.ndarray, n: int) -> None:
        """The n-gram hashes of several documents' words joined (``joined_ngrams``): text ``k``'s words end at
        ``ends[k]`` and it is the document at ``positions[k]`` (-1: not searched). N-grams across two texts go
        through the table with the rest and are dropped with the few that pass: cheaper than selecting them first.
        Those that pass are searched in the references a batch of ``batch_ngrams`` at a time."""
        maybe = np.flatnonzero(self.sets.table[ngrams >> self.sets.shift])
        texts = np.searchsorted(ends, maybe, side="right")  # the text where each n-gram starts
        inside = (maybe + n <= ends[texts]) & (positions[texts] >= 0)
        self._passed.append((positions[texts[inside]].astype(np.int64), ngrams[maybe[inside]]))
        self._passed_ngrams += len(self._passed[-1][1])
        if self._passed_ngrams >= self.batch_ngrams:
            self._search()

    def _search(self) -> None:
        """Keep the (document, hash) pairs passed so far whose hash is in a reference, per reference."""
        if self._passed:
            positions = np.concatenate([positions for positions, _ in self._passed])
            hashes = np.concatenate([hashes for _, hashes in self._passed])
            for name, reference in self.sets.references.items():
                matched = contains(reference, hashes)
                if matched.any():
                    self._found[name].append((positions[matched], hashes[matched]))
        self._passed, self._passed_ngrams = [], 0

    def finish(self) -> dict[str, Hits]:
        self._search()
        return {
            name: Hits.of(
                np.concatenate([EMPTY_POSITIONS, *(p for p, _ in parts)]),
                np.concatenate([EMPTY_HASHES, *(h for _, h in parts)]),
            )
            for name, parts in self._found.items()
        }
