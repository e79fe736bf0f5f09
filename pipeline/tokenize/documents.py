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
READ_BATCH_ROWS = 1024


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


def shuffled_order(count: int, seed: int, input_sha256: str) -> np.ndarray:
    """A permutation of a shard's ``count`` documents, fixed by the seed and the shard's content."""
    rng = np.random.default_rng([seed, int(input_sha256[:16], 16)])
    return rng.permutation(count)


def training_texts(shards: Sequence[Path], seed: int, val_fraction: float, limit: int) -> Iterator[str]:
    """The texts of the first ``limit`` training-split documents of ``shards``, streamed a batch at a time."""
    left = limit
    for shard in shards:
        try:
            batches = pq.ParquetFile(shard).iter_batches(batch_size=READ_BATCH_ROWS, columns=["id", "text"])
            for batch in batches:
                ids, texts = batch.column("id").to_pylist(), batch.column("text").to_pylist()
                for text, val in zip(texts, held_out(ids, seed, val_fraction), strict=True):
                    if not val:
                        yield text
                        left -= 1
                        if left == 0:
                            return
        except (OSError, ValueError, KeyError) as error:
            if isinstance(error, FileNotFoundError):
                raise
            raise ShardReadError(f"{shard}: unreadable documents shard ({error})") from error
