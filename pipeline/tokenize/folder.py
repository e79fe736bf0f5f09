"""A tokens folder's own tokenizer: chosen (or trained) once, kept beside the shards, reused by every later run.

``OUT/tokenizer/`` holds the tokenizer's files (GPT-2's ``encoder.json`` + ``vocab.bpe``, or the
trained ``tokenizer.json``) and ``identity.json`` (kind, size, end-of-text id, each file's sha256,
for BPE what it was trained with), written last. All shards of a folder share that tokenizer: a run
asking for another one (another kind, other BPE training settings, other GPT-2 files) stops and
says so, unless ``--replace`` lets it start the folder over.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pipeline.shards import atomic_write_bytes, atomic_write_json, file_sha256, read_json, remove_stale_temporaries
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.encoders import (
    BPE,
    BPE_FILE,
    GPT2,
    BpeEncoder,
    Gpt2Encoder,
    TokenizerFilesError,
    find_gpt2_files,
    train_bpe,
)
from pipeline.tokenize.tokens_folder import TOKENIZER_DIR, TOKENIZER_IDENTITY


def saved_identity(out_dir: Path) -> dict[str, Any] | None:
    """The identity of the tokenizer ``out_dir`` was tokenized with, or None for a new folder."""
    identity = read_json(out_dir / TOKENIZER_DIR / TOKENIZER_IDENTITY)
    return identity if isinstance(identity, dict) else None


def wanted_kind(cfg: TokenizeConfig, saved: dict[str, Any] | None) -> str:
    """``gpt2`` or ``bpe``: ``auto`` keeps the folder's tokenizer, else takes GPT-2's when its files are found."""
    if cfg.tokenizer != "auto":
        return cfg.tokenizer
    if saved is not None:
        return saved["kind"]
    return GPT2 if find_gpt2_files(cfg.gpt2_vocab_dir) is not None else BPE


def conflict(saved: dict[str, Any], kind: str, cfg: TokenizeConfig) -> str | None:
    """Why the folder's tokenizer is not the one asked for, or None when it is."""
    if saved["kind"] != kind:
        return f"it was tokenized with {saved['kind']}, this run asks for {kind}"
    if kind == BPE and saved.get("training", {}).get("settings") != cfg.training_identity():
        return f"its BPE was trained with {saved['training']['settings']}, this run asks for {cfg.training_identity()}"
    if kind == GPT2 and cfg.gpt2_vocab_dir is not None:
        files = find_gpt2_files(cfg.gpt2_vocab_dir) or {}
        if {name: file_sha256(path) for name, path in files.items()} != saved["files"]:
            return f"its GPT-2 files differ from those in {cfg.gpt2_vocab_dir}"
    return None


def changed_file(out_dir: Path, saved: dict[str, Any]) -> Path | None:
    """The first of the folder's tokenizer files that is missing or no longer has the sha256 it was saved with."""
    for name, sha256 in saved["files"].items():
        path = out_dir / TOKENIZER_DIR / name
        if not path.is_file() or file_sha256(path) != sha256:
            return path
    return None


def check_folder_tokenizer(out_dir: Path, saved: dict[str, Any]) -> None:
    """The folder's tokenizer files are those it was saved with (the workers load them)."""
    if (path := changed_file(out_dir, saved)) is not None:
        raise TokenizerFilesError(
            f"{path} is missing or changed since the folder was tokenized with it: restore it, or rerun with "
            "--replace to tokenize the folder again"
        )


def new_tokenizer(
    out_dir: Path, kind: str, cfg: TokenizeConfig, training_texts: Callable[[], Iterable[str]], inputs: list[str]
) -> dict[str, Any]:
    """Put the asked tokenizer into ``out_dir/tokenizer`` (copied, or trained on ``training_texts()``);
    returns its identity. ``inputs``: the documents shards a BPE is trained on, recorded."""
    directory = out_dir / TOKENIZER_DIR
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    if kind == GPT2:
        files = find_gpt2_files(cfg.gpt2_vocab_dir)
        if files is None:
            raise TokenizerFilesError(
                "GPT-2's encoder.json and vocab.bpe were not found: pass --gpt2-vocab-dir DIR (a folder with both), "
                "or run tiktoken.get_encoding('gpt2') once with network access to fill tiktoken's cache, or use "
                "--tokenizer bpe"
            )
        identity = Gpt2Encoder(files).spec.as_json()  # not GPT-2's files: an error before anything is copied
        for name, path in files.items():
            atomic_write_bytes(directory / name, path.read_bytes())  # the same bytes: the identity's hashes hold
    else:
        temporary = directory / f".{BPE_FILE}.tmp"
        train_bpe(training_texts(), cfg.vocab_size, cfg.bpe_min_frequency, temporary)
        atomic_write_bytes(directory / BPE_FILE, temporary.read_bytes())
        temporary.unlink()
        training = {"settings": cfg.training_identity(), "documents_shards": inputs}
        identity = BpeEncoder(directory / BPE_FILE).spec.as_json() | {"training": training}
    atomic_write_json(directory / TOKENIZER_IDENTITY, identity)
    return identity


def sweep_temporaries(out_dir: Path) -> None:
    """Temporaries a killed run left in the tokenizer folder."""
    if (out_dir / TOKENIZER_DIR).is_dir():
        remove_stale_temporaries(out_dir / TOKENIZER_DIR)
        (out_dir / TOKENIZER_DIR / f".{BPE_FILE}.tmp").unlink(missing_ok=True)
