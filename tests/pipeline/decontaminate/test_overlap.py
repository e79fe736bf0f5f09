"""GPT-2's 8-gram overlap report on a hand-computed case, the saved Bloom filter, and the real eval sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dedup_fixtures import make_document, write_docs

from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.overlap import BLOOM_FILE, REPORT_JSON, REPORT_MD, overlap_report

CORPUS = [
    "one two three four five six seven eight nine ten",  # 3 eight-grams
    "alpha beta gamma delta epsilon zeta eta theta",  # 1 eight-gram
]


def eval_file(tmp_path: Path, name: str, texts: list[str]) -> EvalSet:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    return EvalSet.parse(f"{name}={path}")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write_docs(tmp_path / "corpus", [[make_document(f"d{i}", text) for i, text in enumerate(CORPUS)]])
    return tmp_path / "corpus"


def test_the_share_of_an_eval_sets_8grams_found_in_the_corpus(corpus: Path, tmp_path: Path) -> None:
    # "half" has 3 distinct 8-grams: "two..nine" and "three..ten" are in the corpus (punctuation and case do not
    # matter), "four..eleven" is not: 2 of 3. "zero one two" is too short for one.
    half = eval_file(tmp_path, "half", ["Two, THREE four five six seven eight nine ten eleven", "zero one two"])
    half_b = eval_file(tmp_path, "other", ["zero one two three four five six seven"])
    none = eval_file(tmp_path, "none", ["a b c d e f g h i j"])
    report = overlap_report(corpus, [half, half_b, none])
    rows = {row["name"]: (row["ngrams"], row["found"], row["percent"]) for row in report["eval_sets"]}
    assert rows == {"half": (3, 2, pytest.approx(66.6667)), "other": (1, 0, 0.0), "none": (3, 0, 0.0)}
    table = (corpus / "_reports" / REPORT_MD).read_text()
    assert "| half | 3 | 66.67% |" in table and "| none | 3 | 0.00% |" in table
    assert json.loads((corpus / "_reports" / REPORT_JSON).read_text())["eval_sets"][0]["name"] == "half"


def test_the_bloom_filter_is_saved_and_reused_until_the_corpus_changes(corpus: Path, tmp_path: Path) -> None:
    eval_set = eval_file(tmp_path, "x", ["one two three four five six seven eight"])
    overlap_report(corpus, [eval_set])
    saved = (corpus / "_reports" / BLOOM_FILE).stat().st_mtime_ns
    assert overlap_report(corpus, [eval_set])["eval_sets"][0]["found"] == 1
    assert (corpus / "_reports" / BLOOM_FILE).stat().st_mtime_ns == saved
    write_docs(corpus, [[make_document("d9", "entirely different words fill this one corpus document now")]])
    assert overlap_report(corpus, [eval_set])["eval_sets"][0]["found"] == 0  # rebuilt for the new corpus
    assert (corpus / "_reports" / BLOOM_FILE).stat().st_mtime_ns != saved


def test_bad_eval_sets_fail_before_the_corpus_is_read(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        overlap_report(corpus, [EvalSet.parse(f"x={tmp_path / 'nope.jsonl'}")])
    assert not (corpus / "_reports").exists()
    with pytest.raises(ValueError, match="at least one"):
        overlap_report(corpus, [])
