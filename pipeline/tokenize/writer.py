"""Token shards on disk: flat little-endian ids (``.bin``) plus each document's start offset (``.idx``).

A ``.bin`` file is what nanoGPT's ``train.bin`` is, ``np.memmap(path, dtype=np.uint16, mode="r")``;
its ``.idx`` holds little-endian uint64 offsets, one per document plus the total, so document
``i`` is ``tokens[idx[i]:idx[i + 1]]`` (its last token the end-of-text). A document never
straddles two files; a file holds at most ``shard_tokens`` tokens unless one document alone is
longer, which then has a file of its own. Files are written under temporary names and renamed
when complete, with their sha256 computed on the way.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from pipeline.shards import atomic_write_bytes, commit, temporary_path
from pipeline.tokenize.tokens_folder import DTYPES, INDEX_DTYPE

BIN_SUFFIX = ".bin"
IDX_SUFFIX = ".idx"
FLUSH_TOKENS = 1 << 20
MAX_UINT16_VOCAB = 1 << 16


def token_dtype(vocab_size: int, choice: str) -> np.dtype:
    """The shards' dtype: uint16 while every id fits in it (``auto``), else uint32; a forced dtype must fit."""
    fits16 = vocab_size <= MAX_UINT16_VOCAB
    if choice == "uint16" and not fits16:
        raise ValueError(
            f"dtype uint16 cannot hold ids up to {vocab_size - 1:,} (a vocabulary of {vocab_size:,}): "
            "use --dtype uint32 or auto"
        )
    if choice == "uint32" or (choice == "auto" and not fits16):
        return DTYPES["uint32"]
    return DTYPES["uint16"]


class SplitWriter:
    """Writes one split of one input shard as ``<stem>-0000.bin``, ``<stem>-0001.bin``, … in ``directory``."""

    def __init__(self, directory: Path, stem: str, dtype: np.dtype, eot_id: int, shard_tokens: int) -> None:
        self._directory, self._stem, self._dtype = directory, stem, dtype.newbyteorder("<")
        self._eot = np.asarray([eot_id], dtype=self._dtype)
        self._limit = shard_tokens
        self._pieces: list[dict[str, Any]] = []
        self._handle: BinaryIO | None = None
        self._buffer: list[np.ndarray] = []
        self._buffered = 0

    def add(self, ids: np.ndarray) -> None:
        """Append one document (its ids; the end-of-text is added here)."""
        length = len(ids) + 1
        if self._handle is not None and self._tokens + self._buffered + length > self._limit:
            self._close_piece()
        if self._handle is None:
            self._open_piece()
        self._offsets.append(self._tokens + self._buffered)
        self._buffer += [ids, self._eot]
        self._buffered += length
        if self._buffered >= FLUSH_TOKENS:
            self._flush()

    def close(self) -> list[dict[str, Any]]:
        """Finish the last file; returns each file's record (names, tokens, documents, bytes, sha256)."""
        if self._handle is not None:
            self._close_piece()
        return self._pieces

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._temporary.unlink(missing_ok=True)
            self._handle = None

    def _open_piece(self) -> None:
        self._final = self._directory / f"{self._stem}-{len(self._pieces):04d}{BIN_SUFFIX}"
        self._temporary = temporary_path(self._final)
        self._directory.mkdir(parents=True, exist_ok=True)
        self._handle = open(self._temporary, "wb")
        self._digest = hashlib.sha256()
        self._tokens = 0
        self._offsets: list[int] = []

    def _flush(self) -> None:
        if not self._buffer:
            return
        data = np.concatenate(self._buffer).astype(self._dtype, copy=False).tobytes()
        assert self._handle is not None
        self._handle.write(data)
        self._digest.update(data)
        self._tokens += self._buffered
        self._buffer, self._buffered = [], 0

    def _close_piece(self) -> None:
        self._flush()
        assert self._handle is not None
        self._handle.close()
        self._handle = None
        index = self._final.with_suffix(IDX_SUFFIX)
        atomic_write_bytes(index, np.asarray([*self._offsets, self._tokens], dtype=INDEX_DTYPE).tobytes())
        commit(self._temporary, self._final)
        self._pieces.append(
            {
                "path": f"{self._directory.name}/{self._final.name}",
                "index": f"{self._directory.name}/{index.name}",
                "tokens": self._tokens,
                "documents": len(self._offsets),
                "bytes": self._tokens * self._dtype.itemsize,
                "sha256": self._digest.hexdigest(),
            }
        )
