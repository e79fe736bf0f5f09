"""Training batches from the token shards the tokenize stage writes (numpy only, so it tests without torch).

``TokenSplit.open`` memory-maps every shard of one split the way nanoGPT reads ``train.bin``, after
checking what is cheap to check (sizes, document indexes; hashes on request), so a truncated or stale
tokens folder fails at start-up with the file to blame rather than hours into a run.

A split is cut into windows of ``block_size + 1`` tokens at stride ``block_size`` inside each shard
(``x = window[:-1]``, ``y = window[1:]``). ``BlockSampler`` visits the windows of all shards in a global
order that a keyed Feistel permutation reshuffles every epoch: O(1) memory whatever the corpus size, and a
resumable state of a few integers. ``iter_blocks`` walks the same windows in order, for validation losses
that stay comparable from step to step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pipeline.shards import file_sha256
from pipeline.tokenize.tokens_folder import INDEX_DTYPE, REWRITE, ShardEntry, TokensFolderError, read_manifest
from training.permutation import FeistelPermutation

SAMPLER_FORMAT = "webtext-sampler/1"
Verify = Literal["size", "sha256"]


class TokenDataError(TokensFolderError):
    """A tokens folder (or a sampler state) that cannot be trained on; the message names the file and the fix."""


@dataclasses.dataclass(frozen=True, slots=True)
class TokenShard:
    """One memory-mapped shard: its tokens and the start offset of each document (plus a final end offset)."""

    path: Path
    tokens: np.ndarray  # (tokens,) memmap, little-endian uint16 or uint32
    starts: np.ndarray  # (documents + 1,) uint64
    sha256: str

    @property
    def documents(self) -> int:
        return len(self.starts) - 1

    def document(self, number: int) -> np.ndarray:
        """The tokens of document ``number``, end-of-text token included (a view of the memmap)."""
        if not 0 <= number < self.documents:
            raise IndexError(f"{self.path.name} has {self.documents} documents, not document {number}")
        return self.tokens[int(self.starts[number]) : int(self.starts[number + 1])]

    def iter_documents(self) -> Iterator[np.ndarray]:
        for number in range(self.documents):
            yield self.document(number)


@dataclasses.dataclass(frozen=True, slots=True)
class TokenSplit:
    """The shards of one split (``train`` or ``val``), in the manifest's order."""

    root: Path
    name: str
    dtype: np.dtype
    shards: tuple[TokenShard, ...]
    tokenizer: dict[str, Any]

    @classmethod
    def open(cls, tokens_dir: str | Path, split: str = "train", verify: Verify = "size") -> TokenSplit:
        """Check and memory-map every shard of ``split``; ``verify="sha256"`` also hashes each shard."""
        if verify not in ("size", "sha256"):
            raise ValueError(f"verify must be 'size' or 'sha256', got {verify!r}")
        root = Path(tokens_dir)
        manifest = read_manifest(root)
        listing = manifest.split(split)
        dtype = manifest.token_dtype
        shards = tuple(_open_shard(root, entry, dtype, verify) for entry in listing.shards)
        if sum(len(shard.tokens) for shard in shards) != listing.tokens:
            raise TokenDataError(
                f"{manifest.path}: the {split} shards do not add up to its {listing.tokens} tokens; {REWRITE}"
            )
        return cls(root, split, dtype, shards, dict(manifest.tokenizer))

    @property
    def tokens(self) -> int:
        return sum(len(shard.tokens) for shard in self.shards)

    @property
    def documents(self) -> int:
        return sum(shard.documents for shard in self.shards)

    @property
    def fingerprint(self) -> str:
        """Identifies the shard set, so a sampler state cannot be resumed on different data."""
        listing = [[shard.path.relative_to(self.root).as_posix(), shard.sha256, len(shard.tokens)] for shard in self]
        return hashlib.sha256(json.dumps([self.name, listing]).encode()).hexdigest()[:16]

    def __iter__(self) -> Iterator[TokenShard]:
        return iter(self.shards)

    def __len__(self) -> int:
        return len(self.shards)


def _open_shard(root: Path, entry: ShardEntry, dtype: np.dtype, verify: Verify) -> TokenShard:
    path, index_path = root / entry.path, root / entry.index
    tokens, documents, sha256 = entry.tokens, entry.documents, entry.sha256
    if not path.is_file():
        raise TokenDataError(f"token shard {path} is missing; {REWRITE} (or restore the file)")
    if (size := path.stat().st_size) != tokens * dtype.itemsize:
        raise TokenDataError(
            f"token shard {path} has {size:,} bytes, the manifest says {tokens:,} {dtype.name} tokens "
            f"({tokens * dtype.itemsize:,} bytes): it is truncated or stale; {REWRITE}"
        )
    if verify == "sha256" and (actual := file_sha256(path)) != sha256:
        raise TokenDataError(f"token shard {path} has sha256 {actual}, the manifest says {sha256}: corrupt; {REWRITE}")
    starts = _read_index(index_path, tokens, documents)
    array = np.memmap(path, dtype=dtype, mode="r") if tokens else np.zeros(0, dtype)  # mmap cannot map 0 bytes
    return TokenShard(path, array, starts, sha256)


def _read_index(path: Path, tokens: int, documents: int) -> np.ndarray:
    """A shard's document starts; one bad entry would make documents overlap or run past the shard."""
    if not path.is_file():
        raise TokenDataError(f"document index {path} is missing; {REWRITE}")
    if path.stat().st_size != (documents + 1) * INDEX_DTYPE.itemsize:
        raise TokenDataError(f"document index {path} does not hold {documents} documents + 1 offsets; {REWRITE}")
    starts = np.fromfile(path, dtype=INDEX_DTYPE)
    if starts[0] != 0 or starts[-1] != tokens or np.any(np.diff(starts.astype(np.int64)) < 0):
        raise TokenDataError(
            f"document index {path} is inconsistent (must start at 0, never decrease, end at {tokens}); {REWRITE}"
        )
    return starts


class Windows:
    """The windows of ``block_size + 1`` tokens of a split, numbered across shards in the manifest's order."""

    def __init__(self, split: TokenSplit, block_size: int, world_size: int = 1) -> None:
        if block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        self.split, self.block_size = split, block_size
        counts = [max(0, (len(shard.tokens) - 1) // block_size) for shard in split]  # start + block + 1 <= tokens
        self.offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])  # (shards + 1,)
        self.count = int(self.offsets[-1])
        if self.count < max(world_size, 1):
            raise TokenDataError(self._too_few(world_size))

    def _too_few(self, world_size: int) -> str:
        split = self.split
        where = f"the {split.name} split of {split.root}"
        if split.tokens == 0:
            fix = "tokenize with --val-fraction > 0" if split.name == "val" else "tokenize a non-empty corpus"
            return f"{where} is empty (no tokens): {fix}"
        return (
            f"{where} has {self.count} windows of {self.block_size + 1} tokens ({split.tokens:,} tokens in "
            f"{len(split)} shards, windows never cross shards), fewer than the {world_size} ranks need: "
            "lower block_size or tokenize more data"
        )

    def gather(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of the given windows: two int64 arrays of shape (len(numbers), block_size)."""
        numbers = np.asarray(numbers, dtype=np.int64)
        shard_numbers = np.searchsorted(self.offsets, numbers, side="right") - 1
        starts = (numbers - self.offsets[shard_numbers]) * self.block_size
        windows = np.empty((len(numbers), self.block_size + 1), dtype=np.int64)  # (B, T + 1)
        shards = self.split.shards
        for row, (shard_number, start) in enumerate(zip(shard_numbers.tolist(), starts.tolist())):
            windows[row] = shards[shard_number].tokens[start : start + self.block_size + 1]
        return np.ascontiguousarray(windows[:, :-1]), np.ascontiguousarray(windows[:, 1:])  # (B, T), (B, T)


class BlockSampler:
    """Shuffled training batches for one rank; ranks never share a window within an epoch.

    Every epoch the windows are permuted by a bijection keyed by (seed, epoch); rank ``r`` of ``w`` takes
    permuted positions ``r, r + w, r + 2w, ...``, ``windows // w`` of them (the remainder is dropped, a
    different remainder each epoch), so every rank steps through epochs in lockstep.
    """

    def __init__(self, split: TokenSplit, block_size: int, rank: int = 0, world_size: int = 1, seed: int = 0) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must lie in [0, world_size={world_size}), got {rank}")
        self.windows = Windows(split, block_size, world_size)
        self.split, self.block_size, self.rank, self.world_size = split, block_size, rank, world_size
        self.seed, self.epoch, self.position = seed, 0, 0
        self.per_rank = self.windows.count // world_size
        self._permutation = FeistelPermutation(self.windows.count, seed, 0)

    def _order(self) -> FeistelPermutation:
        """This epoch's permutation (rebuilt only when the epoch or seed changes: it is a few round keys)."""
        current = self._permutation
        if (current.seed, current.epoch) != (self.seed, self.epoch):
            self._permutation = FeistelPermutation(self.windows.count, self.seed, self.epoch)
        return self._permutation

    def next_numbers(self, count: int) -> np.ndarray:
        """The next ``count`` window numbers of this rank, moving into the next epoch when this one ends."""
        taken = []
        while count > 0:
            step = min(count, self.per_rank - self.position)
            positions = self.rank + self.world_size * np.arange(self.position, self.position + step, dtype=np.int64)
            taken.append(self._order()(positions))
            self.position, count = self.position + step, count - step
            if self.position == self.per_rank:
                self.epoch, self.position = self.epoch + 1, 0
        return np.concatenate(taken) if taken else np.zeros(0, dtype=np.int64)

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)``, two int64 arrays of shape (batch_size, block_size); ``y`` is ``x`` shifted by one token."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return self.windows.gather(self.next_numbers(batch_size))

    def state_dict(self) -> dict[str, Any]:
        """Where this rank stands: a few JSON-able integers, plus what identifies the data and layout."""
        return {
            "format": SAMPLER_FORMAT,
            "split": self.split.name,
            "shards": self.split.fingerprint,
            "windows": self.windows.count,
            "block_size": self.block_size,
            "world_size": self.world_size,
            "rank": self.rank,
            "seed": self.seed,
            "epoch": self.epoch,
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume where ``state`` stood; refuses a state of other data, block size or world size.

        The state's seed is adopted (it is part of where the stream stands). Its rank need not be ours:
        ranks advance in lockstep, so the state rank 0 checkpoints resumes every rank.
        """
        mine = self.state_dict()
        for field in ("format", "split", "shards", "block_size", "world_size", "windows"):
            if state.get(field) != mine[field]:
                raise TokenDataError(
                    f"sampler state has {field}={state.get(field)!r} but this sampler has {mine[field]!r} "
                    f"({self.split.root}, {self.split.name} split): resume with the same tokens folder, block_size "
                    "and world size, or start the data order afresh"
                )
        seed, epoch, position = (state.get(field) for field in ("seed", "epoch", "position"))
        if not all(isinstance(value, int) for value in (seed, epoch, position)) or epoch < 0:
            raise TokenDataError(f"sampler state has a malformed seed/epoch/position: {state!r}")
        if not 0 <= position < self.per_rank:
            raise TokenDataError(f"sampler state position {position} is outside [0, {self.per_rank}): {state!r}")
        self.seed, self.epoch, self.position = seed, epoch, position


def iter_blocks(
    split: TokenSplit,
    block_size: int,
    batch_size: int,
    rank: int = 0,
    world_size: int = 1,
    max_batches: int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Unshuffled ``(x, y)`` batches of windows ``rank, rank + w, ...`` for evaluation; the last may be smaller.

    Every rank gets ``windows // world_size`` windows, so all ranks yield the same number of batches (a
    collective all-reduce after each would otherwise hang).
    """
    if batch_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"need batch_size >= 1 and 0 <= rank < world_size, got {batch_size}, {rank}, {world_size}")
    windows = Windows(split, block_size, world_size)
    numbers = rank + world_size * np.arange(windows.count // world_size, dtype=np.int64)
    for batch, start in enumerate(range(0, len(numbers), batch_size)):
        if max_batches is not None and batch >= max_batches:
            return
        yield windows.gather(numbers[start : start + batch_size])
