"""The tokens folder, the tokenize stage's output, as every reader sees it: its layout, format and a checked reader.

    manifest.json              the format tag, dtype, tokenizer identity, inputs and, per split, every shard
    train/ val/                part-*.bin (tokens) and part-*.idx (document starts), as the manifest lists them
    tokenizer/                 the tokenizer's files (``pipeline.tokenize.folder``)

The tokenize stage writes it; training, the corpus versions (``pipeline.lineage``), the flow and evaluation's
lineage read it through ``read_manifest``, so a reader cannot drift from the writer: a manifest of another format,
or one missing what readers rely on, fails here with the file named.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "manifest.json"
TOKENIZER_DIR = "tokenizer"
TOKENIZER_IDENTITY = "identity.json"  # in TOKENIZER_DIR: which tokenizer, its files and their hashes
FORMAT = "webtext-tokens/1"
DTYPES = {"uint16": np.dtype("<u2"), "uint32": np.dtype("<u4")}  # the shards' tokens, by the manifest's name
INDEX_DTYPE = np.dtype("<u8")  # a shard's .idx: the start of each document, then the end of the last
REWRITE = "rerun `webtext tokenize`"


class TokensFolderError(ValueError):
    """A tokens folder that cannot be read: the message names the file and the fix."""


@dataclasses.dataclass(frozen=True, slots=True)
class ShardEntry:
    """One token shard as the manifest lists it (paths relative to the folder)."""

    path: str
    index: str
    tokens: int
    documents: int
    sha256: str


@dataclasses.dataclass(frozen=True, slots=True)
class SplitListing:
    """A split's shards, in the manifest's order, and its totals."""

    tokens: int
    documents: int
    shards: tuple[ShardEntry, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class TokensManifest:
    """A checked ``manifest.json``; ``sha256`` is of its bytes, the key corpus versions and checkpoints use."""

    path: Path
    sha256: str
    dtype: str
    tokenizer: Mapping[str, Any]
    inputs: Mapping[str, str]  # documents shard name -> its sha256
    splits: Mapping[str, SplitListing]

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def tokens(self) -> int:
        return sum(split.tokens for split in self.splits.values())

    @property
    def documents(self) -> int:
        return sum(split.documents for split in self.splits.values())

    @property
    def token_dtype(self) -> np.dtype:
        return DTYPES[self.dtype]

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer["vocab_size"])

    def split(self, name: str) -> SplitListing:
        if name not in self.splits:
            raise TokensFolderError(f"{self.path} has no split {name!r} (it has {sorted(self.splits)})")
        return self.splits[name]

    def split_tokens(self, name: str) -> int:
        """A split's tokens, 0 for a split the folder does not have."""
        return self.splits[name].tokens if name in self.splits else 0


def corpus_sha256(inputs: Mapping[str, str]) -> str:
    """The corpus's identity: a hash of its shards' names and sha256 (a manifest's ``inputs``); the manifest
    carries it, and corpus versions and training runs are keyed by it."""
    return hashlib.sha256(json.dumps(dict(inputs), sort_keys=True).encode()).hexdigest()


def manifest_path(tokens_dir: str | Path) -> Path:
    return Path(tokens_dir) / MANIFEST


def has_manifest(tokens_dir: str | Path) -> bool:
    """Whether tokenize finished in ``tokens_dir`` (the manifest is written last, atomically)."""
    return manifest_path(tokens_dir).is_file()


def read_manifest(tokens_dir: str | Path) -> TokensManifest:
    """The manifest of ``tokens_dir``, checked for everything a reader relies on."""
    path = manifest_path(tokens_dir)
    try:
        raw = path.read_bytes()
        manifest = json.loads(raw)
    except FileNotFoundError:
        raise TokensFolderError(f"{path} not found: is {tokens_dir} a tokens folder? {REWRITE} to write it") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TokensFolderError(f"{path} is unreadable ({error}); {REWRITE}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise TokensFolderError(f"{path} has format {found!r}, this reader needs {FORMAT!r}; {REWRITE}")
    if manifest.get("dtype") not in DTYPES:
        raise TokensFolderError(f"{path}: dtype {manifest.get('dtype')!r} is not one of {sorted(DTYPES)}; {REWRITE}")
    tokenizer, inputs = manifest.get("tokenizer"), manifest.get("inputs")
    if not isinstance(tokenizer, dict) or not isinstance(tokenizer.get("vocab_size"), int):
        raise TokensFolderError(f"{path}: its tokenizer identity has no vocab_size; {REWRITE}")
    if not isinstance(inputs, dict):
        raise TokensFolderError(f"{path}: its inputs are not a mapping of shard names to hashes; {REWRITE}")
    splits = manifest.get("splits")
    if not isinstance(splits, dict) or not all(isinstance(split, dict) for split in splits.values()):
        raise TokensFolderError(f"{path} lists no splits (or malformed ones); {REWRITE}")
    return TokensManifest(
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        dtype=manifest["dtype"],
        tokenizer=tokenizer,
        inputs=inputs,
        splits={name: _split(path, split) for name, split in splits.items()},
    )


def _split(path: Path, split: dict[str, Any]) -> SplitListing:
    entries = split.get("shards", [])
    if not isinstance(entries, list):
        raise TokensFolderError(f"{path}: a split's shards are not a list; {REWRITE}")
    shards = tuple(_entry(path, entry) for entry in entries)
    try:
        tokens, documents = int(split.get("tokens", 0)), int(split.get("documents", 0))
    except (TypeError, ValueError) as error:
        raise TokensFolderError(f"{path}: a split's totals are malformed ({error}); {REWRITE}") from None
    return SplitListing(tokens, documents, shards)


def _entry(path: Path, entry: Any) -> ShardEntry:
    try:
        return ShardEntry(
            path=str(entry["path"]),
            index=str(entry["index"]),
            tokens=int(entry["tokens"]),
            documents=int(entry["documents"]),
            sha256=str(entry["sha256"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise TokensFolderError(f"{path}: shard entry {entry!r} is malformed ({error}); {REWRITE}") from None
