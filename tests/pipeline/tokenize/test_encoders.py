"""The two tokenizers: GPT-2's ids against an independent implementation (Hugging Face ``tokenizers`` built from the
same two files), exact round trips, ``<|endoftext|>`` inside a text staying text, bad files named, stable training."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tokenize_fixtures import ENGLISH, TRICKY

from pipeline.tokenize.encoders import (
    EOT,
    GPT2_EOT_ID,
    GPT2_URL,
    BpeEncoder,
    Gpt2Encoder,
    TokenizerFilesError,
    cached_gpt2_files,
    find_gpt2_files,
    train_bpe,
)
from pipeline.tokenize.writer import token_dtype

HARD = [
    "Hello world",
    " Hello world",
    "don't I'll we've they're she'd it's HE'S O'Neil",
    "numbers 1234567890 3.14159 1,000,000 2019-01-01 $9.99 12th",
    "<|endoftext|>",
    "before<|endoftext|>after <|endoftext|> <|endoftext",
    "a  b   c    d\t\te\r\nf\r\n\r\ng\n\n\nh   ",
    "   leading and trailing   ",
    "\n\n\t \n",
    "Zürich café naïve — «quotes» ‘single’ “double”",
    "東京タワーは高い。北京欢迎你！서울",
    "😀👍🏽 🇫🇷 👨‍👩‍👧 emoji runs😀😀😀",
    "combining e\u0301, zero\u200bwidth, non\u00a0breaking, em\u2003space, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    *TRICKY.values(),
    ENGLISH["chess-opening-principles"],
]


@pytest.fixture
def gpt2(gpt2_dir: Path) -> Gpt2Encoder:
    return Gpt2Encoder(find_gpt2_files(gpt2_dir))


@pytest.fixture
def reference(gpt2_dir: Path):
    """GPT-2's BPE as Hugging Face builds it from encoder.json and vocab.bpe: another regex engine, another BPE."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    tokenizer = Tokenizer(
        models.BPE.from_file(vocab=str(gpt2_dir / "encoder.json"), merges=str(gpt2_dir / "vocab.bpe"))
    )
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    assert tokenizer.encode("Hello world", add_special_tokens=False).ids == [15496, 995]  # the reference is GPT-2's
    return tokenizer


def test_gpt2_ids_are_gpt2s_own(gpt2: Gpt2Encoder) -> None:
    (hello,) = gpt2.encode(["Hello world"])
    assert hello.tolist() == [15496, 995] and hello.dtype == np.uint32
    assert gpt2.spec.vocab_size == 50257 and gpt2.spec.eot_id == GPT2_EOT_ID
    assert gpt2.decode([GPT2_EOT_ID]) == EOT


@pytest.mark.parametrize("text", HARD, ids=range(len(HARD)))
def test_gpt2_ids_equal_the_reference_and_decode_back(gpt2: Gpt2Encoder, reference, text: str) -> None:
    (ids,) = gpt2.encode([text])
    assert ids.tolist() == reference.encode(text, add_special_tokens=False).ids
    assert gpt2.decode(ids.tolist()) == text
    assert GPT2_EOT_ID not in ids.tolist()


def test_endoftext_inside_a_text_is_ordinary_text(gpt2: Gpt2Encoder) -> None:
    (ids,) = gpt2.encode(["<|endoftext|>"])
    assert ids.tolist() == [27, 91, 437, 1659, 5239, 91, 29]  # "<", "|", "end", "of", "text", "|", ">"


def test_batches_encode_each_text_alone(gpt2: Gpt2Encoder) -> None:
    batch = gpt2.encode(HARD)
    assert [ids.tolist() for ids in batch] == [gpt2.encode([text])[0].tolist() for text in HARD]


def test_missing_or_foreign_gpt2_files_name_the_folder(tmp_path: Path, gpt2_dir: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TokenizerFilesError, match=f"{empty}.*encoder.json and vocab.bpe"):
        find_gpt2_files(empty)
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(gpt2_dir / "encoder.json", half)
    with pytest.raises(TokenizerFilesError, match=f"{half} lacks vocab.bpe"):
        find_gpt2_files(half)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    shutil.copy(gpt2_dir / "encoder.json", foreign)
    lines = (gpt2_dir / "vocab.bpe").read_text(encoding="utf-8").splitlines()
    (foreign / "vocab.bpe").write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8")
    with pytest.raises(TokenizerFilesError, match=f"{foreign}"):
        Gpt2Encoder(find_gpt2_files(foreign))
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "encoder.json").write_text("{not json")
    (garbage / "vocab.bpe").write_text("#version: 0.2\nno merges here at all\n")
    with pytest.raises(TokenizerFilesError, match=f"{garbage}"):
        Gpt2Encoder(find_gpt2_files(garbage))


def test_tiktoken_cache_is_found_by_its_own_naming_rule(
    tmp_path: Path, gpt2_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert cached_gpt2_files() is None and find_gpt2_files(None) is None
    for name in ("encoder.json", "vocab.bpe"):
        shutil.copy(gpt2_dir / name, tmp_path / hashlib.sha1(f"{GPT2_URL}{name}".encode()).hexdigest())
    files = find_gpt2_files(None)
    assert Gpt2Encoder(files).encode(["Hello world"])[0].tolist() == [15496, 995]
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # tiktoken's "no cache"
    assert cached_gpt2_files() is None


def training_corpus() -> list[str]:
    return [*ENGLISH.values(), *TRICKY.values()]


@pytest.fixture
def trained(tmp_path: Path) -> BpeEncoder:
    path = tmp_path / "tokenizer.json"
    train_bpe(iter(training_corpus()), 500, 2, path)
    return BpeEncoder(path)


def test_a_trained_bpe_round_trips_every_text_exactly(trained: BpeEncoder) -> None:
    assert trained.spec.kind == "bpe" and 257 <= trained.spec.vocab_size <= 500
    assert trained.decode([trained.spec.eot_id]) == EOT
    for text, ids in zip(HARD, trained.encode(HARD), strict=True):
        assert trained.decode(ids.tolist()) == text
        assert trained.spec.eot_id not in ids.tolist()
    (prose,) = trained.encode([ENGLISH["chess-opening-principles"]])
    assert len(prose) < len(ENGLISH["chess-opening-principles"].encode()) * 0.7  # merges learned: fewer ids than bytes


def test_a_trained_bpe_reads_endoftext_in_a_text_as_text(trained: BpeEncoder) -> None:
    eot = trained.spec.eot_id
    (ids,) = trained.encode(["one<|endoftext|>two"])
    assert eot not in ids.tolist() and len(ids) > 3 and trained.decode(ids.tolist()) == "one<|endoftext|>two"
    assert trained.decode([*ids.tolist(), eot]) == "one<|endoftext|>two<|endoftext|>"


def test_a_trained_bpe_encodes_text_it_never_saw(trained: BpeEncoder) -> None:
    unseen = "Ελληνικά και ᚠᛇᚻ runes, 🦜🦩, ĳ ﬁ ligatures and \x00\x07 control bytes"
    (ids,) = trained.encode([unseen])
    assert trained.decode(ids.tolist()) == unseen and int(ids.max()) < trained.spec.vocab_size


TRAIN_IN_SUBPROCESS = """
import sys
from tokenize_fixtures import ENGLISH, TRICKY
from pipeline.tokenize.encoders import train_bpe
train_bpe(iter([*ENGLISH.values(), *TRICKY.values()]), 500, 2, __import__("pathlib").Path(sys.argv[1]))
"""


def test_training_twice_gives_the_same_tokenizer_file(tmp_path: Path) -> None:
    train_bpe(iter(training_corpus()), 500, 2, tmp_path / "first.json")
    train_bpe(iter(training_corpus()), 500, 2, tmp_path / "second.json")
    # another process: another hash seed for the trainer's maps
    here = str(Path(__file__).resolve().parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, *sys.path])}
    subprocess.run([sys.executable, "-c", TRAIN_IN_SUBPROCESS, str(tmp_path / "third.json")], check=True, env=env)
    first = (tmp_path / "first.json").read_bytes()
    assert (tmp_path / "second.json").read_bytes() == first and (tmp_path / "third.json").read_bytes() == first
    train_bpe(iter(training_corpus()[1:]), 500, 2, tmp_path / "other.json")
    assert (tmp_path / "other.json").read_bytes() != first


def test_a_damaged_tokenizer_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text('{"model": ')
    with pytest.raises(TokenizerFilesError, match="tokenizer.json: not a readable"):
        BpeEncoder(tmp_path / "tokenizer.json")


@pytest.mark.parametrize(
    ("vocab_size", "choice", "expected"),
    [
        (50257, "auto", "uint16"),
        (65536, "auto", "uint16"),
        (65537, "auto", "uint32"),
        (50257, "uint32", "uint32"),
        (65536, "uint16", "uint16"),
        (300, "auto", "uint16"),
    ],
)
def test_token_dtype_holds_every_id(vocab_size: int, choice: str, expected: str) -> None:
    dtype = token_dtype(vocab_size, choice)
    assert dtype.name == expected and dtype.byteorder in ("<", "=", "|")
    assert np.iinfo(dtype).max >= vocab_size - 1


def test_a_forced_uint16_too_small_for_the_vocabulary_is_refused() -> None:
    with pytest.raises(ValueError, match="uint16 cannot hold ids up to 65,536"):
        token_dtype(65537, "uint16")
