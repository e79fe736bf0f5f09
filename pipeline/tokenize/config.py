"""Configuration of the tokenize stage, validated when it is built."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pipeline.settings import setting, workers_setting
from pipeline.validation import check_range, check_workers

TOKENIZERS = ("gpt2", "bpe", "auto")
DTYPES = ("auto", "uint16", "uint32")
MIN_BPE_VOCAB = 257  # the 256 byte symbols and <|endoftext|>


@dataclasses.dataclass(frozen=True, slots=True)
class TokenizeConfig:
    """Which tokenizer turns documents into token shards, how documents are split and how shards are cut.

    ``gpt2`` is GPT-2's own byte-level BPE (through tiktoken, ids identical to GPT-2's); ``bpe`` a
    byte-level BPE trained on the corpus itself with Hugging Face ``tokenizers`` (trained once per
    tokens folder, on training documents only, then reused by every later run); ``auto`` takes
    ``gpt2`` when GPT-2's files are found and trains ``bpe`` otherwise (the offline demo).

    A document goes to the validation split when a hash of (``seed``, its id) falls below
    ``val_fraction``, so its split never changes when the corpus grows or is re-sharded.
    """

    tokenizer: str = setting(
        "gpt2", choices=TOKENIZERS, help="gpt2 (GPT-2's BPE), bpe (trained on the corpus), auto (gpt2 if found)"
    )
    gpt2_vocab_dir: Path | None = setting(
        None, help="folder with GPT-2's encoder.json and vocab.bpe; none: tiktoken's cache"
    )
    vocab_size: int = setting(32_768, help="bpe: size of the trained vocabulary, <|endoftext|> included")
    bpe_min_frequency: int = setting(2, help="bpe: a pair must occur this often to be merged")
    bpe_max_documents: int = setting(1_000_000, help="bpe: train on at most this many training documents")
    val_fraction: float = setting(0.0005, help="share of documents held out as the validation split")
    seed: int = setting(1337, help="seeds the validation split and each shard's document order")
    shard_tokens: int = setting(100_000_000, help="most tokens per .bin shard (a longer document has its own)")
    dtype: str = setting(
        "auto",
        choices=DTYPES,
        help="token dtype: auto (uint16 while every id fits, i.e. up to 65,536 ids; else uint32)",
    )
    workers: int | None = workers_setting()

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, got {self.tokenizer!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        check_range("vocab_size", self.vocab_size, MIN_BPE_VOCAB, 2**32, integer=True)
        check_range("bpe_min_frequency", self.bpe_min_frequency, 1, 10**9, integer=True)
        check_range("bpe_max_documents", self.bpe_max_documents, 1, 10**12, integer=True)
        check_range("val_fraction", self.val_fraction, 0.0, 0.5)
        check_range("seed", self.seed, 0, 2**63 - 1, integer=True)
        check_range("shard_tokens", self.shard_tokens, 1, 2**40, integer=True)
        check_workers(self.workers)

    def split_identity(self) -> dict[str, Any]:
        """What a unit's shards depend on besides its input and the tokenizer: not the tokenizer's own settings
        (the tokenizer's files stand for them), nor where GPT-2's files were read from, nor ``workers``."""
        return {"val_fraction": self.val_fraction, "seed": self.seed, "shard_tokens": self.shard_tokens}

    def training_identity(self) -> dict[str, Any]:
        """The settings a trained BPE depends on (with the documents it was trained on)."""
        return {
            "vocab_size": self.vocab_size,
            "min_frequency": self.bpe_min_frequency,
            "max_documents": self.bpe_max_documents,
            "val_fraction": self.val_fraction,
            "seed": self.seed,
        }
