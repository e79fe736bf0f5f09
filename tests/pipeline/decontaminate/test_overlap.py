"""GPT-2's 8-gram overlap report: a hand-computed case, exactness against a set computation on real text, and the
per-shard hits cache (increments, changed and removed shards, a killed write)."""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from dedup_fixtures import make_document, write_docs

from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.overlap import HITS_DIR, REPORT_JSON, REPORT_MD, hits_file, overlap_report
from pipeline.records import Document, to_table
from pipeline.sample.corpus import ARTICLES
from pipeline.sample.evalset import eval_passages
from pipeline.shards import complete_shards, read_table, stats_path, write_shard

CORPUS = [
    "one two three four five six seven eight nine ten",  # 3 eight-grams
    "alpha beta gamma delta epsilon zeta eta theta",  # 1 eight-gram
]
PARAGRAPHS = [paragraph for article in ARTICLES if article.kind != "heldout" for paragraph in article.paragraphs]


def eval_file(tmp_path: Path, name: str, texts: list[str]) -> EvalSet:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    return EvalSet.parse(f"{name}={path}")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write_docs(tmp_path / "corpus", [[make_document(f"d{i}", text) for i, text in enumerate(CORPUS)]])
    return tmp_path / "corpus"


def web_shard(seed: int, documents: int = 12) -> list:
    """Pages of the sample's articles (English, foreign, spam) recombined; every third quotes a held-out passage
    in part, in upper case, with its punctuation changed."""
    rng, passages = random.Random(seed), eval_passages()
    pages = []
    for index in range(documents):
        text = "\n\n".join(rng.sample(PARAGRAPHS, 3))
        if index % 3 == 0:
            words = rng.choice(passages).split()
            start = rng.randrange(max(1, len(words) - 20))
            text += "\n\n“" + " ".join(words[start : start + rng.randint(6, 20)]).upper().replace(",", ";") + "”"
        pages.append(make_document(f"s{seed}d{index}", text))
    return pages


def brute_force(corpus_texts: list[str], eval_texts: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """Per evaluation set, (distinct 8-grams, of them in the corpus) with word tuples in Python sets: GPT-2's rule
    (lower-case runs of ASCII letters and digits) written again, without hashing."""

    def grams(text: str) -> set[tuple[str, ...]]:
        words = [word.lower() for word in re.findall(r"[A-Za-z0-9]+", text)]
        return {tuple(words[i : i + 8]) for i in range(len(words) - 7)}

    in_corpus = set().union(*(grams(text) for text in corpus_texts))
    result = {}
    for name, texts in eval_texts.items():
        wanted = set().union(*(grams(text) for text in texts))
        result[name] = (len(wanted), len(wanted & in_corpus))
    return result


def rows(report: dict) -> dict[str, tuple[int, int]]:
    return {row["name"]: (row["ngrams"], row["found"]) for row in report["eval_sets"]}


@pytest.fixture
def web(tmp_path: Path) -> tuple[Path, list[EvalSet], dict[str, list[str]]]:
    """Three shards of web pages, and two evaluation sets: the held-out passages, and article paragraphs cut short."""
    write_docs(tmp_path / "web", [web_shard(seed) for seed in range(3)])
    texts = {"heldout": eval_passages(), "articles": [p[: len(p) // 2] for p in PARAGRAPHS[::5]]}
    return tmp_path / "web", [eval_file(tmp_path, name, items) for name, items in texts.items()], texts


def shard_texts(directory: Path) -> list[str]:
    return [text for shard in complete_shards(directory) for text in read_table(shard)["text"].to_pylist()]


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
    written = json.loads((corpus / "_reports" / REPORT_JSON).read_text())
    assert written["eval_sets"][0]["name"] == "half" and written["exact"] is True and written["shards"] == 1


def test_the_report_is_exact_on_real_text(web: tuple[Path, list[EvalSet], dict[str, list[str]]]) -> None:
    directory, sets, texts = web
    report = overlap_report(directory, sets)
    expected = brute_force(shard_texts(directory), texts)
    assert rows(report) == expected
    for name in ("heldout", "articles"):  # some, not all, of each set's 8-grams are in some page
        assert 0 < expected[name][1] < expected[name][0]
    assert report["shards_computed"] == 3


def test_an_increment_computes_only_the_new_shard(web: tuple[Path, list[EvalSet], dict[str, list[str]]]) -> None:
    directory, sets, texts = web
    overlap_report(directory, sets)
    cached = {path.name: path.stat().st_mtime_ns for path in (directory / "_reports" / HITS_DIR).iterdir()}
    write_shard(to_table(web_shard(seed=7), Document), directory / "part-00003.parquet", shard_fingerprint="test")
    report = overlap_report(directory, sets)
    assert report["shards_computed"] == 1 and report["shards"] == 4
    assert rows(report) == brute_force(shard_texts(directory), texts)
    for name, mtime in cached.items():  # the earlier shards' hits were read, not written again
        assert (directory / "_reports" / HITS_DIR / name).stat().st_mtime_ns == mtime
    assert overlap_report(directory, sets)["shards_computed"] == 0


def test_a_changed_shard_is_computed_again_and_a_removed_ones_hits_go(
    web: tuple[Path, list[EvalSet], dict[str, list[str]]],
) -> None:
    directory, sets, texts = web
    before = overlap_report(directory, sets)
    write_docs(directory, [[make_document("plain", " ".join(PARAGRAPHS[:2]))]])  # part-00000 rewritten
    changed = overlap_report(directory, sets)
    assert changed["shards_computed"] == 1 and rows(changed) == brute_force(shard_texts(directory), texts)
    assert rows(changed) != rows(before)
    stats_path(directory / "part-00002.parquet").unlink()
    (directory / "part-00002.parquet").unlink()
    removed = overlap_report(directory, sets)
    assert removed["shards_computed"] == 0 and removed["shards"] == 2
    assert not hits_file(directory / "_reports", "part-00002.parquet").exists()
    assert rows(removed) == brute_force(shard_texts(directory), texts)


def test_a_killed_write_and_a_damaged_file_leave_the_report_right(
    web: tuple[Path, list[EvalSet], dict[str, list[str]]],
) -> None:
    directory, sets, _ = web
    expected = rows(overlap_report(directory, sets))
    reports = directory / "_reports"
    stray = reports / HITS_DIR / ".part-00001.npz.4242.tmp"  # a write killed before its rename
    stray.write_bytes(b"PK\x03\x04 half a file")
    hits_file(reports, "part-00002.parquet").write_bytes(b"not an npz")  # damaged under its final name
    (reports / "corpus-8grams.bloom").write_bytes(b"\0" * 64)  # the Bloom filter of an earlier version
    report = overlap_report(directory, sets)
    assert rows(report) == expected and report["shards_computed"] == 1
    assert not stray.exists() and not (reports / "corpus-8grams.bloom").exists()
    with np.load(hits_file(reports, "part-00002.parquet")) as saved:
        assert set(saved.files) == {"key", "positions", "hashes"}


def test_other_evaluation_sets_recompute_every_shard(web: tuple[Path, list[EvalSet], dict[str, list[str]]]) -> None:
    directory, sets, texts = web
    overlap_report(directory, sets)
    only_heldout = overlap_report(directory, sets[:1])
    assert only_heldout["shards_computed"] == 3  # the cache is keyed by the sets' 8-grams
    assert rows(only_heldout) == dict(itertools.islice(brute_force(shard_texts(directory), texts).items(), 1))


def test_bad_eval_sets_fail_before_the_corpus_is_read(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        overlap_report(corpus, [EvalSet.parse(f"x={tmp_path / 'nope.jsonl'}")])
    assert not (corpus / "_reports").exists()
    with pytest.raises(ValueError, match="at least one"):
        overlap_report(corpus, [])
