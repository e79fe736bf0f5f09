"""The tokenize tests' corpus (``tokenize_fixtures`` goes on ``sys.path``) and GPT-2's files from ../shared."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from tokenize_fixtures import shard_documents, write_docs  # noqa: E402

from pipeline.records import Document  # noqa: E402
from pipeline.tokenize.config import TokenizeConfig  # noqa: E402


@pytest.fixture
def gpt2_dir(shared_data: Path) -> Path:
    """GPT-2's encoder.json and vocab.bpe in ../shared/data/gpt2; tests that need them skip when absent."""
    directory = shared_data / "gpt2"
    if not all((directory / name).is_file() for name in ("encoder.json", "vocab.bpe")):
        pytest.skip(f"GPT-2's encoder.json and vocab.bpe not found in {directory}")
    return directory


@pytest.fixture
def shards() -> list[list[Document]]:
    return shard_documents()


@pytest.fixture
def docs(tmp_path: Path, shards: list[list[Document]]) -> Path:
    write_docs(tmp_path / "docs", shards)
    return tmp_path / "docs"


@pytest.fixture
def gpt2_cfg(gpt2_dir: Path) -> TokenizeConfig:
    """GPT-2's BPE, a quarter of the documents held out, shards of at most 1,500 tokens, one process."""
    return TokenizeConfig(gpt2_vocab_dir=gpt2_dir, val_fraction=0.25, shard_tokens=1500, workers=1)


@pytest.fixture
def bpe_cfg() -> TokenizeConfig:
    return TokenizeConfig(tokenizer="bpe", vocab_size=600, val_fraction=0.25, shard_tokens=4000, workers=1)
