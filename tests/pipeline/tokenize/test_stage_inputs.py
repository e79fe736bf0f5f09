"""The tokenize stage's inputs and its folder's tokenizer: bad input named before anything is written, one tokenizer
per tokens folder (``replace`` starts it over), damaged files, vanished documents shards, the trained BPE, ``auto``."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from pathlib import Path

import pytest
from tokenize_fixtures import (
    all_texts,
    decoded,
    expected_val,
    make_document,
    manifest,
    outputs,
    stray_files,
    write_docs,
)

from pipeline.records import Document
from pipeline.rejects import OrphanShardsError
from pipeline.shards import stats_path
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.encoders import BpeEncoder, TokenizerFilesError
from pipeline.tokenize.stage import run_tokenize


def test_an_empty_corpus_is_an_error_before_anything_is_written(tmp_path: Path, gpt2_cfg: TokenizeConfig) -> None:
    (tmp_path / "none").mkdir()
    with pytest.raises(ValueError, match="holds no documents to tokenize"):
        run_tokenize(tmp_path / "none", tmp_path / "out", gpt2_cfg)
    write_docs(tmp_path / "zero", [[], []])
    with pytest.raises(ValueError, match="holds no documents to tokenize"):
        run_tokenize(tmp_path / "zero", tmp_path / "out", gpt2_cfg)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        run_tokenize(tmp_path / "nowhere", tmp_path / "out", gpt2_cfg)
    assert not (tmp_path / "out").exists()


def test_missing_gpt2_files_name_the_folder(docs: Path, tmp_path: Path) -> None:
    (tmp_path / "vocab").mkdir()
    for tokenizer in ("gpt2", "auto"):
        with pytest.raises(TokenizerFilesError, match=f"{tmp_path / 'vocab'} lacks encoder.json and vocab.bpe"):
            run_tokenize(docs, tmp_path / "out", TokenizeConfig(tokenizer=tokenizer, gpt2_vocab_dir=tmp_path / "vocab"))
    assert not list((tmp_path / "out").rglob("*.bin")) and not (tmp_path / "out" / "manifest.json").exists()


def test_gpt2_without_files_anywhere_says_where_to_get_them(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(TokenizerFilesError, match="--gpt2-vocab-dir"):
        run_tokenize(docs, tmp_path / "out", TokenizeConfig(tokenizer="gpt2", workers=1))


def test_another_tokenizer_needs_replace_and_then_tokenizes_cleanly(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig, bpe_cfg: TokenizeConfig
) -> None:
    out = tmp_path / "out"
    run_tokenize(docs, out, gpt2_cfg)
    before = outputs(out)
    with pytest.raises(ValueError, match="tokenized with gpt2, this run asks for bpe.*--replace"):
        run_tokenize(docs, out, bpe_cfg)
    assert outputs(out) == before  # refused before touching anything
    replaced = run_tokenize(docs, out, bpe_cfg, replace=True)
    assert replaced.units_skipped == 0 and manifest(out)["tokenizer"]["kind"] == "bpe"
    assert sorted(p.name for p in (out / "tokenizer").iterdir()) == ["identity.json", "tokenizer.json"]
    run_tokenize(docs, tmp_path / "fresh", bpe_cfg)
    assert outputs(out) == outputs(tmp_path / "fresh") and stray_files(out) == []
    with pytest.raises(ValueError, match="trained with.*'vocab_size': 600.*--replace"):
        run_tokenize(docs, out, dataclasses.replace(bpe_cfg, vocab_size=700))


@pytest.mark.parametrize("kind", ["gpt2", "bpe"])
def test_a_damaged_tokenizer_file_is_an_error_and_replace_starts_over(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig, bpe_cfg: TokenizeConfig, kind: str
) -> None:
    cfg = gpt2_cfg if kind == "gpt2" else bpe_cfg
    out = tmp_path / "out"
    run_tokenize(docs, out, cfg)
    before = outputs(out)
    victim = out / "tokenizer" / ("vocab.bpe" if kind == "gpt2" else "tokenizer.json")
    victim.write_bytes(victim.read_bytes()[:-50])
    with pytest.raises(TokenizerFilesError, match=f"{victim} is missing or changed.*--replace"):
        run_tokenize(docs, out, cfg)
    victim.unlink()
    with pytest.raises(TokenizerFilesError, match=f"{victim} is missing"):
        run_tokenize(docs, out, cfg)
    redone = run_tokenize(docs, out, cfg, replace=True)  # what the message advises
    assert redone.units_skipped == 0 and outputs(out) == before


def test_a_vanished_documents_shard_stops_the_run_unless_replace(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig
) -> None:
    out = tmp_path / "out"
    run_tokenize(docs, out, gpt2_cfg)
    (docs / "part-00001.parquet").unlink()
    stats_path(docs / "part-00001.parquet").unlink()
    with pytest.raises(OrphanShardsError, match="part-00001.parquet.*--replace"):
        run_tokenize(docs, out, gpt2_cfg)
    assert list(out.rglob("part-00001-*.bin"))
    kept = run_tokenize(docs, out, gpt2_cfg, replace=True)
    assert (kept.units, kept.units_skipped) == (2, 2) and not list(out.rglob("part-00001*"))
    assert set(manifest(out)["inputs"]) == {"part-00000.parquet", "part-00002.parquet"} and stray_files(out) == []


def test_a_trained_bpe_round_trips_the_corpus(
    docs: Path, tmp_path: Path, bpe_cfg: TokenizeConfig, shards: list[list[Document]]
) -> None:
    out = tmp_path / "out"
    summary = run_tokenize(docs, out, bpe_cfg)
    identity = json.loads((out / "tokenizer" / "identity.json").read_text())
    encoder = BpeEncoder(out / "tokenizer" / "tokenizer.json")
    assert summary.details["tokenizer"] == "bpe" and manifest(out)["tokenizer"] == identity
    assert identity["vocab_size"] == encoder.spec.vocab_size <= 600 and manifest(out)["dtype"] == "uint16"
    assert identity["training"]["documents_shards"] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    train, val = (decoded(out, split, encoder.spec.eot_id, encoder.decode) for split in ("train", "val"))
    assert train + val == all_texts(shards) and val and not set(train) & set(val)


def word_only_in(split: str, seed: int) -> Document:
    """A document of the given split repeating a made-up word made of letter pairs English never writes."""
    for number in range(1000):
        candidate = make_document(f"rare-{number}", " ".join(["qzvjxk"] * 400) + ".")
        if (candidate.id in expected_val([candidate.id], seed, 0.25)) == (split == "val"):
            return candidate
    raise AssertionError("no document of that split")


@pytest.mark.parametrize("split", ["val", "train"])
def test_bpe_learns_only_from_training_documents(
    tmp_path: Path, bpe_cfg: TokenizeConfig, shards: list[list[Document]], split: str
) -> None:
    write_docs(tmp_path / "docs", [*shards[:2], [*shards[2], word_only_in(split, bpe_cfg.seed)]])
    run_tokenize(tmp_path / "docs", tmp_path / "out", bpe_cfg)
    encoder = BpeEncoder(tmp_path / "out" / "tokenizer" / "tokenizer.json")
    pieces = len(encoder.encode([" qzvjxk"])[0])
    assert pieces >= 4 if split == "val" else pieces == 1  # learnt as one token only from a training document


def test_auto_trains_bpe_without_gpt2_files_and_takes_gpt2_when_given(
    docs: Path, tmp_path: Path, gpt2_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    auto = TokenizeConfig(tokenizer="auto", vocab_size=500, workers=1)
    assert run_tokenize(docs, tmp_path / "offline", auto).details["tokenizer"] == "bpe"
    with_files = run_tokenize(docs, tmp_path / "online", dataclasses.replace(auto, gpt2_vocab_dir=gpt2_dir))
    assert with_files.details["tokenizer"] == "gpt2" and with_files.details["vocab_size"] == 50257
    again = run_tokenize(docs, tmp_path / "offline", dataclasses.replace(auto, gpt2_vocab_dir=gpt2_dir))
    assert again.details["tokenizer"] == "bpe" and again.units_skipped == 3  # auto keeps the folder's tokenizer
    cache = tmp_path / "cache"  # tiktoken's cache, filled as tiktoken.get_encoding("gpt2") leaves it
    shutil.copytree(gpt2_dir, cache)
    import hashlib

    from pipeline.tokenize.encoders import GPT2_URL

    for name in ("encoder.json", "vocab.bpe"):
        (cache / name).rename(cache / hashlib.sha1(f"{GPT2_URL}{name}".encode()).hexdigest())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    assert run_tokenize(docs, tmp_path / "cached", auto).details["tokenizer"] == "gpt2"
    assert outputs(tmp_path / "cached") == outputs(tmp_path / "online")


def test_a_document_of_random_bytes_round_trips(tmp_path: Path, gpt2_cfg: TokenizeConfig) -> None:
    rng = random.Random(3)
    texts = ["".join(chr(rng.choice([rng.randrange(32, 0xD800), rng.randrange(0xE000, 0x110000)])) for _ in range(400))]
    texts += ["\r\n".join(" " * rng.randrange(5) + "\t" * rng.randrange(3) for _ in range(50)) + "x"]
    write_docs(tmp_path / "docs", [[make_document(f"r{i}", text) for i, text in enumerate(texts)]])
    run_tokenize(tmp_path / "docs", tmp_path / "out", dataclasses.replace(gpt2_cfg, val_fraction=0.0))
    from pipeline.tokenize.encoders import Gpt2Encoder, find_gpt2_files

    gpt2 = Gpt2Encoder(find_gpt2_files(gpt2_cfg.gpt2_vocab_dir))
    assert decoded(tmp_path / "out", "train", 50256, gpt2.decode) == {text: 1 for text in texts}
