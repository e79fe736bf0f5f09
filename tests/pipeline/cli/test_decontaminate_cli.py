"""``webtext decontaminate`` and ``webtext overlap`` on a passage of the real LAMBADA test set planted in web text."""

from __future__ import annotations

import dataclasses
import json
import random
import sys
from pathlib import Path

import pytest

from pipeline.cli import main

DEDUP_TESTS = Path(__file__).resolve().parents[1] / "dedup"
if str(DEDUP_TESTS) not in sys.path:
    sys.path.insert(0, str(DEDUP_TESTS))

from dedup_fixtures import make_document, random_words, write_docs  # noqa: E402


def prose(seed: int) -> str:
    return " ".join(random_words(random.Random(seed), 250)) + "."


def test_lambada_passage_and_wikipedia_page_are_removed(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lambada = shared_data / "eval" / "lambada_test.jsonl"
    passage = json.loads(lambada.read_text(encoding="utf-8").splitlines()[3])["text"]
    quoting = make_document("quoting", f"{prose(1)}\n\nI read this once: {passage}\n\n{prose(2)}")
    wiki = dataclasses.replace(make_document("wiki", prose(3)), url="https://en.wikipedia.org/wiki/Harbour")
    write_docs(tmp_path / "docs", [[quoting, wiki, make_document("clean", prose(4))]])
    argv = ["decontaminate", str(tmp_path / "docs"), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]
    assert main([*argv, "--eval-set", f"lambada={lambada}"]) == 0
    printed = capsys.readouterr().out
    assert "documents 3, kept 2, trimmed 1" in printed and "wikipedia_domain" in printed
    assert "lambada: 1 trimmed, 0 dropped" in printed and "| lambada |" in printed and "%" in printed
    assert main(["overlap", str(tmp_path / "out"), "--eval-set", f"lambada={lambada}"]) == 0
    assert "| lambada | " in capsys.readouterr().out and (tmp_path / "out" / "_reports" / "overlap.md").is_file()


def test_a_missing_eval_set_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_docs(tmp_path / "docs", [[make_document("a", prose(5))]])
    argv = ["decontaminate", str(tmp_path / "docs"), "--out", str(tmp_path / "out"), "--eval-set", "x=nope.jsonl"]
    assert main(argv) == 2
    assert "nope.jsonl" in capsys.readouterr().err and not (tmp_path / "out").exists()
