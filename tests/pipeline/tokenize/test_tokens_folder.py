"""The tokens folder's one reader agrees with the stage that writes it, and fails naming the file on anything else.

The folder is written by the real tokenize stage (a trained byte-level BPE, so ``../shared`` is not needed); the
reader's view is compared with the manifest's JSON read independently.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.shards import file_sha256
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.stage import run_tokenize
from pipeline.tokenize.tokens_folder import (
    INDEX_DTYPE,
    TokensFolderError,
    has_manifest,
    manifest_path,
    read_manifest,
)


@pytest.fixture
def tokens(tmp_path: Path, docs: Path, bpe_cfg: TokenizeConfig) -> Path:
    run_tokenize(docs, tmp_path / "tokens", bpe_cfg)
    return tmp_path / "tokens"


def test_the_reader_sees_what_the_stage_wrote(tokens: Path) -> None:
    raw = json.loads(manifest_path(tokens).read_text())
    manifest = read_manifest(tokens)
    assert has_manifest(tokens) and manifest.folder == tokens
    assert manifest.sha256 == file_sha256(tokens / "manifest.json")  # the key versions and checkpoints use
    assert (manifest.tokens, manifest.documents) == (raw["tokens"], raw["documents"]) and manifest.tokens > 0
    assert manifest.vocab_size == raw["tokenizer"]["vocab_size"] == 600
    assert dict(manifest.inputs) == raw["inputs"] and len(manifest.inputs) == 3
    assert set(manifest.splits) == {"train", "val"}
    for name, split in manifest.splits.items():
        assert split.tokens == raw["splits"][name]["tokens"] == manifest.split_tokens(name)
        assert [entry.path for entry in split.shards] == [piece["path"] for piece in raw["splits"][name]["shards"]]
        for entry in split.shards:  # the layout the entries describe is the one on disk
            assert (tokens / entry.path).stat().st_size == entry.tokens * manifest.token_dtype.itemsize
            starts = np.fromfile(tokens / entry.index, dtype=INDEX_DTYPE)
            assert len(starts) == entry.documents + 1 and starts[-1] == entry.tokens
            assert file_sha256(tokens / entry.path) == entry.sha256
    assert manifest.split_tokens("test") == 0
    with pytest.raises(TokensFolderError, match=r"manifest\.json has no split 'test' \(it has \['train', 'val'\]\)"):
        manifest.split("test")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: {**m, "format": "webtext-tokens/0"}, "has format 'webtext-tokens/0', this reader needs"),
        (lambda m: [m], "has format 'list'"),
        (lambda m: {**m, "dtype": "int8"}, "dtype 'int8' is not one of"),
        (lambda m: {**m, "tokenizer": {"kind": "bpe"}}, "its tokenizer identity has no vocab_size"),
        (lambda m: {key: value for key, value in m.items() if key != "inputs"}, "its inputs are not a mapping"),
        (lambda m: {**m, "splits": {"train": []}}, "lists no splits"),
        (lambda m: {**m, "splits": {"train": {"tokens": 3, "shards": {}}}}, "a split's shards are not a list"),
        (lambda m: {**m, "splits": {"train": {"tokens": "many", "shards": []}}}, "a split's totals are malformed"),
        (lambda m: {**m, "splits": {"train": {"shards": [{"path": "train/x.bin"}]}}}, "shard entry .* is malformed"),
    ],
)
def test_a_manifest_readers_cannot_rely_on_fails_naming_it(tokens: Path, change, message: str) -> None:
    path = manifest_path(tokens)
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    with pytest.raises(TokensFolderError, match=f"{path}.*{message}.*rerun `webtext tokenize`"):
        read_manifest(tokens)


def test_a_missing_or_unreadable_manifest_fails_naming_it(tmp_path: Path, tokens: Path) -> None:
    assert not has_manifest(tmp_path)
    with pytest.raises(TokensFolderError, match=f"{tmp_path / 'manifest.json'} not found: is {tmp_path} a tokens"):
        read_manifest(tmp_path)
    manifest_path(tokens).write_text('{"format": "webtext-tok')
    with pytest.raises(TokensFolderError, match="manifest.json is unreadable"):
        read_manifest(tokens)
