"""``webtext tokenize``: runs the stage with the config's flags, prints the tokenizer line, one-line errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenize_fixtures import manifest, write_docs

from pipeline.cli import main as webtext


def test_cli_tokenizes_and_prints_the_tokenizer(
    docs: Path, tmp_path: Path, gpt2_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["tokenize", str(docs), "--out", str(out), "--gpt2-vocab-dir", str(gpt2_dir), "--quiet"]
    assert webtext([*argv, "--workers", "1", "--val-fraction", "0.25", "--shard-tokens", "1500"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    counts = summary["counts"]
    assert f"tokenize: documents {counts['documents']:,}, tokens {counts['tokens']:,}" in printed
    assert f"tokenizer gpt2 (50,257 ids, uint16); manifest {out / 'manifest.json'}" in printed
    assert "3 of 3 work units done" in printed
    meta = manifest(out)
    assert meta["config"]["val_fraction"] == 0.25 and meta["config"]["shard_tokens"] == 1500
    assert len(meta["splits"]["train"]["shards"]) > 3 and meta["splits"]["val"]["documents"] > 0
    assert webtext([*argv, "--workers", "1", "--val-fraction", "0.25", "--shard-tokens", "1500"]) == 0
    assert "0 of 3 work units done (3 already complete)" in capsys.readouterr().out


def test_cli_flags_choose_tokenizer_and_dtype(docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["tokenize", str(docs), "--out", str(out), "--quiet", "--workers", "1"]
    assert webtext([*argv, "--tokenizer", "bpe", "--vocab-size", "400", "--dtype", "uint32"]) == 0
    assert "tokenizer bpe (400 ids, uint32)" in capsys.readouterr().out
    assert manifest(out)["dtype"] == "uint32"
    assert webtext([*argv, "--tokenizer", "bpe", "--vocab-size", "500", "--dtype", "uint32"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("webtext tokenize: error: ") and "--replace" in error


def test_cli_errors_are_one_line_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_docs(tmp_path / "docs", [[]])
    out = tmp_path / "out"
    assert webtext(["tokenize", str(tmp_path / "docs"), "--out", str(out), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("webtext tokenize: error: ") and "holds no documents to tokenize" in captured.err
    assert not out.exists()
    empty_vocab = tmp_path / "vocab"
    empty_vocab.mkdir()
    write_docs(tmp_path / "docs", [[_document()]])
    assert webtext(["tokenize", str(tmp_path / "docs"), "--out", str(out), "--gpt2-vocab-dir", str(empty_vocab)]) == 2
    assert f"{empty_vocab} lacks encoder.json and vocab.bpe" in capsys.readouterr().err
    assert webtext(["tokenize", str(tmp_path / "docs"), "--out", str(out), "--val-fraction", "0.9"]) == 2
    assert "val_fraction must be a number between 0.0 and 0.5" in capsys.readouterr().err


def _document():
    from tokenize_fixtures import make_document

    return make_document("one", "A single short page of text.")
