"""Which documents are held out, in which order a shard's documents are written, and the texts BPE trains on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from pipeline.shards import ShardReadError

TRAIN = "train"
VAL = "val"
SPLITS = (TRAIN, VAL)


def held_out(doc_ids: Sequence[str], seed: int, val_fraction: float) -> np.ndarray:
    """True for each document of the validation split: a hash of (seed, id) below ``val_fraction``.

    Decided by the document alone, so its split is the same in every run, however the corpus is
    sharded or grows, and a document is never split across train and val.
    """
    if val_fraction <= 0:
        return np.zeros(len(doc_ids), dtype=bool)
    salt = f"{seed}:".encode()
    draws = [
        int.from_bytes(hashlib.blake2b(salt + doc_id.encode(), digest_size=8).digest(), "little") for doc_id in doc_ids
    ]
    return np.asarray(draws, dtype=np.uint64) < np.uint64(int(val_fraction * 2**64 - 1))


def shuffled_order(doc_ids: Sequence[str], texts: Sequence[str | None], seed: int) -> np.ndarray:
    """A permutation of a shard's documents fixed by the seed and their ids and texts alone.

    Each document's place is a seeded hash of its id and text, so the same documents come out in the
    same order whatever else the shard file holds (fetch times, metadata columns), however it is encoded
    or compressed, and in whatever order it stores them: two builds of the same content write the same
    tokens, whenever and wherever they run.
    """
    salt = f"{seed}:".encode()
    draws = [
        hashlib.blake2b(salt + doc_id.encode() + b"\0" + (text or "").encode(), digest_size=16).digest()
        for doc_id, text in zip(doc_ids, texts, strict=True)
    ]
    return np.asarray(sorted(range(len(draws)), key=draws.__getitem__), dtype=np.int64)


def training_texts(shards: Sequence[Path], seed: int, val_fraction: float, limit: int) -> Iterator[str]:
    """The texts of the first ``limit`` training-split documents of ``shards``, each shard's in its shuffled order
    (so which documents a trained BPE sees, and in which order, follows their content too), a shard at a time."""
    left = limit
    for shard in shards:
        try:
            table = pq.read_table(shard, columns=["id", "text"])
        except (OSError, ValueError, KeyError) as error:
            if isinstance(error, FileNotFoundError):
                raise
            raise ShardReadError(f"{shard}: unreadable documents shard ({error})") from error
        ids, texts = table.column("id").to_pylist(), table.column("text").to_pylist()
        del table
        validation = held_out(ids, seed, val_fraction)
        for index in shuffled_order(ids, texts, seed):
            if not validation[index]:
                yield texts[index]
                left -= 1
                if left == 0:
                    return
