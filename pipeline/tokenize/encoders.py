"""The two tokenizers behind one small interface: GPT-2's BPE (tiktoken) and a byte-level BPE trained here.

GPT-2's is built offline from its two release files, ``encoder.json`` and ``vocab.bpe``: from a
folder the user names, else from tiktoken's cache when ``tiktoken.get_encoding("gpt2")`` once
downloaded them. Either way the files are copied into the tokens folder, so a later run (and the
model export) needs nothing else. The trained BPE is a Hugging Face ``tokenizers`` byte-level BPE
with ``<|endoftext|>`` as its one special token, saved as ``tokenizer.json``.

Documents are encoded as plain text: an ``<|endoftext|>`` written inside a document is text, never
the special token; the stage appends the real one after each document.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline.shards import file_sha256

EOT = "<|endoftext|>"
GPT2 = "gpt2"
BPE = "bpe"
GPT2_FILES = ("encoder.json", "vocab.bpe")
BPE_FILE = "tokenizer.json"
GPT2_VOCAB_SIZE = 50257
GPT2_EOT_ID = 50256
GPT2_CHECK = ("Hello world", [15496, 995])  # GPT-2's ids for it: the files are GPT-2's own
GPT2_URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/"  # where tiktoken downloads them from


class TokenizerFilesError(FileNotFoundError):
    """A tokenizer's files are missing, damaged or not the tokenizer they claim to be."""


@dataclasses.dataclass(frozen=True, slots=True)
class TokenizerSpec:
    """A tokenizer's identity: its kind, size, end-of-text id and the sha256 of each of its files."""

    kind: str
    vocab_size: int
    eot_id: int
    files: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.kind, **dataclasses.asdict(self)}


class Encoder(Protocol):
    spec: TokenizerSpec

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's token ids (no end-of-text appended), as uint32 arrays."""

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids`` (special tokens written out)."""


def tiktoken_cache_dir() -> Path | None:
    """Where ``tiktoken.get_encoding`` keeps downloaded files (its own rule), or None when caching is off."""
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            return Path(os.environ[variable]) if os.environ[variable] else None
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def cached_gpt2_files() -> dict[str, Path] | None:
    """GPT-2's two files in tiktoken's cache (named by the sha1 of their URL), if both are there."""
    cache = tiktoken_cache_dir()
    if cache is None:
        return None
    files = {name: cache / hashlib.sha1(f"{GPT2_URL}{name}".encode()).hexdigest() for name in GPT2_FILES}
    return files if all(path.is_file() for path in files.values()) else None


def find_gpt2_files(vocab_dir: Path | None) -> dict[str, Path] | None:
    """GPT-2's files: from ``vocab_dir`` (an error names what is missing there), else from tiktoken's cache."""
    if vocab_dir is None:
        return cached_gpt2_files()
    files = {name: Path(vocab_dir) / name for name in GPT2_FILES}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise TokenizerFilesError(
            f"gpt2_vocab_dir {vocab_dir} lacks {' and '.join(missing)}: it needs GPT-2's encoder.json and vocab.bpe"
        )
    return files


class Gpt2Encoder:
    """GPT-2's byte-level BPE through tiktoken, ids identical to GPT-2's."""

    def __init__(self, files: dict[str, Path]) -> None:
        import tiktoken
        from tiktoken.load import data_gym_to_mergeable_bpe_ranks
        from tiktoken_ext.openai_public import r50k_pat_str

        try:
            ranks = data_gym_to_mergeable_bpe_ranks(str(files["vocab.bpe"]), str(files["encoder.json"]))
        except (OSError, ValueError, KeyError, AssertionError) as error:
            raise TokenizerFilesError(f"{files['encoder.json'].parent}: unreadable GPT-2 files ({error})") from error
        self._encoding = tiktoken.Encoding(
            GPT2,
            pat_str=r50k_pat_str,
            mergeable_ranks=ranks,
            special_tokens={EOT: GPT2_EOT_ID},
            explicit_n_vocab=GPT2_VOCAB_SIZE,
        )
        text, ids = GPT2_CHECK
        if self._encoding.encode_ordinary(text) != ids:
            raise TokenizerFilesError(f"{files['encoder.json'].parent}: encoder.json and vocab.bpe are not GPT-2's")
        hashes = {name: file_sha256(path) for name, path in files.items()}
        self.spec = TokenizerSpec(GPT2, GPT2_VOCAB_SIZE, GPT2_EOT_ID, hashes)

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        # encode_to_numpy with no special tokens allowed nor disallowed is encode_ordinary, without a list of ints
        return [self._encoding.encode_to_numpy(text, allowed_special=set(), disallowed_special=()) for text in texts]

    def decode(self, ids: Sequence[int]) -> str:
        return self._encoding.decode(list(ids))


class BpeEncoder:
    """A byte-level BPE trained with Hugging Face ``tokenizers`` (``tokenizer.json``)."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        try:
            self._tokenizer = Tokenizer.from_file(str(path))
        except Exception as error:  # tokenizers raises a bare Exception for a bad file
            raise TokenizerFilesError(f"{path}: not a readable tokenizer.json ({error})") from error
        eot_id = self._tokenizer.token_to_id(EOT)
        if eot_id is None:
            raise TokenizerFilesError(f"{path}: the tokenizer has no {EOT} token")
        self._tokenizer.encode_special_tokens = True  # "<|endoftext|>" inside a document is text
        vocab_size = self._tokenizer.get_vocab_size(with_added_tokens=True)
        self.spec = TokenizerSpec(BPE, vocab_size, eot_id, {BPE_FILE: file_sha256(path)})

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        encodings = self._tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        return [np.asarray(encoding.ids, dtype=np.uint32) for encoding in encodings]

    def decode(self, ids: Sequence[int]) -> str:
        return self._tokenizer.decode(list(ids), skip_special_tokens=False)


def train_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int, path: Path) -> None:
    """Train a byte-level BPE on ``texts`` (streamed) and save it to ``path`` as ``tokenizer.json``.

    GPT-2's design: bytes mapped to printable symbols, GPT-2's pre-tokenising regex, no prefix space,
    the 256 byte symbols always in the vocabulary so any text encodes, ``<|endoftext|>`` special.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.save(str(path))


@functools.cache
def load_encoder(kind: str, directory: Path, file_hashes: tuple[tuple[str, str], ...]) -> Encoder:
    """The tokenizer saved in ``directory`` (a tokens folder's own copy), cached per process and per content:
    ``file_hashes`` (its files' sha256) keys the cache, so a replaced tokenizer is loaded anew."""
    if kind == GPT2:
        return Gpt2Encoder({name: directory / name for name in GPT2_FILES})
    return BpeEncoder(directory / BPE_FILE)
