"""A keyed pseudo-random bijection of ``range(size)`` in O(1) memory.

Shuffling billions of training windows with ``np.random.permutation`` would hold eight bytes per window
in every rank's memory. A balanced Feistel network is a bijection on ``2k``-bit integers whatever its
round function, so we run one over the smallest power-of-4 domain that covers ``size`` (at most four
times larger) and cycle-walk: a value that lands outside ``range(size)`` is encrypted again until it
lands inside. That keeps the bijection, costs under four passes on average, and any position can be
mapped on its own, so a resumed sampler needs only (seed, epoch, position).
"""

from __future__ import annotations

import hashlib

import numpy as np

ROUNDS = 6  # Luby-Rackoff: 4 rounds already give a pseudo-random permutation; 6 leave margin
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's finaliser constants
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a cheap, well-avalanching 64-bit hash (uint64 arithmetic wraps)."""
    values = (values ^ (values >> np.uint64(30))) * _MIX1
    values = (values ^ (values >> np.uint64(27))) * _MIX2
    return values ^ (values >> np.uint64(31))


class FeistelPermutation:
    """``permutation(positions)`` maps positions in ``range(size)`` to a keyed shuffle of them, vectorised.

    The key is (seed, epoch): each epoch of a sampler gets a fresh, reproducible order.
    """

    def __init__(self, size: int, seed: int, epoch: int = 0) -> None:
        if size < 1:
            raise ValueError(f"a permutation needs size >= 1, got {size}")
        self.size, self.seed, self.epoch = size, seed, epoch
        half_bits = max(1, ((size - 1).bit_length() + 1) // 2)  # domain 4**half_bits >= size
        if half_bits > 32:
            raise ValueError(f"size {size} does not fit in 64 bits")
        self.half_bits = np.uint64(half_bits)
        self.half_mask = np.uint64((1 << half_bits) - 1)
        digest = hashlib.blake2b(f"webtext-permutation:{seed}:{epoch}".encode(), digest_size=8 * ROUNDS).digest()
        self.round_keys = [np.uint64(int.from_bytes(digest[8 * i : 8 * i + 8], "little")) for i in range(ROUNDS)]

    @property
    def domain(self) -> int:
        return 1 << (2 * int(self.half_bits))

    def _encrypt(self, values: np.ndarray) -> np.ndarray:
        """One pass of the Feistel network over the power-of-4 domain (a bijection of it)."""
        left, right = values >> self.half_bits, values & self.half_mask
        for key in self.round_keys:
            left, right = right, left ^ (_mix64(right + key) & self.half_mask)
        return (left << self.half_bits) | right

    def __call__(self, positions: np.ndarray | int) -> np.ndarray:
        positions = np.atleast_1d(np.asarray(positions, dtype=np.int64))
        if positions.size and (positions.min() < 0 or positions.max() >= self.size):
            raise ValueError(f"positions must lie in [0, {self.size})")
        with np.errstate(over="ignore"):
            out = self._encrypt(positions.astype(np.uint64))
            outside = np.flatnonzero(out >= np.uint64(self.size))
            while outside.size:  # cycle-walking: stays a bijection of range(size)
                out[outside] = self._encrypt(out[outside])
                outside = outside[out[outside] >= np.uint64(self.size)]
        return out.astype(np.int64)
