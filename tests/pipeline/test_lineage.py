from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import pipeline.lineage as lineage
from pipeline.lineage import (
    CORPUS_TAG,
    MANIFEST_TAG,
    TOKENS_TAG,
    VERSION_TAG,
    TrainingCase,
    corpus_sha256,
    find_version,
    grown_enough,
    lineage_tags,
    record_version,
    training_due,
)
from pipeline.records import Document, document_id, to_table
from pipeline.shards import file_sha256, write_shard


def write_tokens(tokens_dir: Path, inputs: dict[str, str], train_tokens: int) -> None:
    tokens_dir.mkdir(parents=True, exist_ok=True)
    piece = {"path": "train/part-00000-000.bin", "index": "train/part-00000-000.idx", "tokens": train_tokens}
    piece |= {"documents": 3, "sha256": "ab" * 32}
    manifest = {
        "format": "webtext-tokens/1",
        "dtype": "uint16",
        "tokenizer": {"kind": "bpe", "vocab_size": 4096},
        "inputs": inputs,
        "splits": {
            "train": {"tokens": train_tokens, "documents": 3, "shards": [piece]},
            "val": {"tokens": 0, "documents": 0, "shards": []},
        },
        "tokens": train_tokens,
        "documents": 3,
    }
    (tokens_dir / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "run"
    (root / "urls").mkdir(parents=True)
    summary = {"stage": "harvest", "outcomes": {"kept": 9, "self_post": 2}, "urls_kept": 7, "units": 4, "units_done": 4}
    summary["seconds"] = 0.5  # flat, as summaries were before their counts were nested: read all the same
    (root / "urls" / "summary.json").write_text(json.dumps(summary))
    write_tokens(root / "tokens", {"part-00000.parquet": "11" * 32}, 1000)
    return root


def test_a_version_records_inputs_counts_and_hashes_and_a_rerun_adds_none(data_root: Path, tmp_path: Path) -> None:
    dump = tmp_path / "RS_2019-01.zst"
    dump.write_bytes(b"submissions")
    folders = {"harvest": data_root / "urls", "fetch": data_root / "fetch", "tokenize": data_root / "tokens"}
    first, new = record_version(data_root, data_root / "tokens", folders, [dump], {"n_buckets": 4}, "flow-1")
    assert new and first["name"] == "v0001" and first["previous"] is None
    assert first["inputs"] == [
        {"path": str(dump), "bytes": 11, "mtime_ns": dump.stat().st_mtime_ns, "sha256": file_sha256(dump)}
    ]
    assert first["counts"]["harvest"]["counts"] == {"urls_kept": 7}
    assert first["counts"]["harvest"]["outcomes"] == {"kept": 9, "self_post": 2}
    assert first["counts"]["fetch"] is None  # never ran there
    assert first["corpus_sha256"] == corpus_sha256({"part-00000.parquet": "11" * 32})
    assert first["tokens"]["manifest_sha256"] == file_sha256(data_root / "tokens" / "manifest.json")
    assert first["tokens"]["shards"] == {"train/part-00000-000.bin": "ab" * 32}
    assert first["prefect_flow_run_id"] == "flow-1" and first["config"] == {"n_buckets": 4}
    assert first["code"]["package"] == "0.1.0"

    again, new = record_version(data_root, data_root / "tokens", folders, [dump], {"n_buckets": 4}, "flow-2")
    assert not new and again == first and len(list((data_root / "versions").glob("v*.json"))) == 1

    write_tokens(data_root / "tokens", {"part-00000.parquet": "11" * 32, "part-00001.parquet": "22" * 32}, 1500)
    second, new = record_version(data_root, data_root / "tokens", folders, [dump], {"n_buckets": 4}, "flow-3")
    assert new and (second["name"], second["previous"]) == ("v0002", 1)
    assert find_version(data_root, first["tokens"]["manifest_sha256"])["name"] == "v0001"


def write_corpus(corpus_dir: Path, karma: dict[str, int]) -> dict[str, str]:
    """One corpus shard of documents (URL -> karma), as the tokens manifest's inputs name it."""
    documents = [
        Document(
            id=document_id(url),
            url=url,
            domain="karma.test",
            title=None,
            text=f"the page at {url}",
            karma=value,
            fetched_at=datetime(2019, 3, 1, tzinfo=UTC),
        )
        for url, value in karma.items()
    ]
    stats = write_shard(to_table(documents, Document), corpus_dir / "part-00000.parquet", shard_fingerprint="test")
    return {"part-00000.parquet": stats["sha256"]}


def test_a_version_counts_the_documents_whose_karma_changed_since_the_previous(data_root: Path) -> None:
    corpus, tokens = data_root / "corpus", data_root / "tokens"
    urls = [f"http://karma.test/{n}" for n in range(5)]
    write_tokens(tokens, write_corpus(corpus, dict.fromkeys(urls, 3)), 1000)
    first, _ = record_version(data_root, tokens, {}, [], {}, corpus_dir=corpus)
    assert first["karma"] == {"documents": 5, "changed": None, "compared_with": None}  # nothing to compare with

    grown = dict.fromkeys(urls, 3) | {urls[0]: 40, urls[3]: 7, "http://karma.test/new": 9}  # posted again; one new
    write_tokens(tokens, write_corpus(corpus, grown), 1000)
    second, new = record_version(data_root, tokens, {}, [], {}, corpus_dir=corpus)
    assert new and second["karma"] == {"documents": 6, "changed": 2, "compared_with": "v0001"}
    assert sorted(path.name for path in (data_root / "versions").glob("*.npz")) == ["v0002.karma.npz"]

    write_tokens(tokens, write_corpus(corpus, grown | {urls[1]: 4}), 1000)
    (data_root / "versions" / "v0003.karma.npz").write_bytes(b"left by a run killed before its manifest")
    third, _ = record_version(data_root, tokens, {}, [], {}, corpus_dir=corpus)  # its rerun counts the same
    assert third["karma"] == {"documents": 6, "changed": 1, "compared_with": "v0002"}


def test_input_hashes_are_reused_while_size_and_mtime_hold(data_root: Path, tmp_path: Path, monkeypatch) -> None:
    dump = tmp_path / "RS_2019-02.bz2"
    dump.write_bytes(b"x" * 100)
    cache = tmp_path / "hashes.json"
    lineage.hash_inputs([dump], cache)
    calls = []
    monkeypatch.setattr(lineage, "file_sha256", lambda path: calls.append(path) or "recomputed")
    assert lineage.hash_inputs([dump], cache)[0]["sha256"] == file_sha256(dump) and calls == []
    dump.write_bytes(b"y" * 101)  # a dump replaced in place is hashed again
    assert lineage.hash_inputs([dump], cache)[0]["sha256"] == "recomputed" and calls == [dump]


def test_lineage_tags_name_the_version_of_a_flow_data_root(data_root: Path) -> None:
    tags = lineage_tags(data_root / "tokens")
    assert VERSION_TAG not in tags and tags[CORPUS_TAG] == corpus_sha256({"part-00000.parquet": "11" * 32})
    manifest, _ = record_version(data_root, data_root / "tokens", {}, [], {})
    tags = lineage_tags(data_root / "tokens")
    assert tags[VERSION_TAG] == "v0001" and tags[TOKENS_TAG] == manifest["tokens"]["manifest_sha256"]
    assert Path(tags[MANIFEST_TAG]) == data_root / "versions" / "v0001.json"


def test_a_missing_tokens_manifest_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no tokens manifest at .*tokens/manifest.json"):
        record_version(tmp_path, tmp_path / "tokens", {}, [], {})


@pytest.mark.parametrize(
    ("current", "trained", "minimum", "due"),
    [
        (1000, None, 10**9, True),
        (1000, 1000, 0, False),
        (1001, 1000, 0, True),
        (1500, 1000, 600, False),
        (1600, 1000, 600, True),
    ],
)
def test_training_is_due_when_the_corpus_grew_enough(
    current: int, trained: int | None, minimum: int, due: bool
) -> None:
    assert grown_enough(current, trained, minimum) is due


def case(**changes) -> TrainingCase:
    """A size with a model trained on 1,000 train tokens, a version of 1,500, nothing started, nothing asked."""
    facts = {"target": "models/tiny/v0002", "started": False, "asked": None, "train_tokens": 1500}
    facts |= {"previous": "v0001", "previous_train_tokens": 1000, "min_new_tokens": 400}
    return TrainingCase(**(facts | changes))


def test_a_size_trains_when_its_corpus_grew_enough_and_says_why() -> None:
    assert training_due(case()) == (True, "the corpus grew since v0001")
    due, why = training_due(case(min_new_tokens=600))
    assert not due and why.startswith("the corpus has 500 new train tokens since v0001, fewer than")
    assert "train.min_new_tokens (600)" in why and "train=True" in why
    assert training_due(case(previous=None, previous_train_tokens=None)) == (True, "no model of this size yet")


def test_a_started_run_is_finished_and_the_flow_parameter_overrides_growth() -> None:
    due, why = training_due(case(started=True, asked=False, min_new_tokens=10**9))
    assert due and why == "models/tiny/v0002 has a run of this corpus version: resume or finish it"
    assert training_due(case(asked=False)) == (False, "asked by the flow's `train` parameter")
    assert training_due(case(asked=True, min_new_tokens=10**9)) == (True, "asked by the flow's `train` parameter")


def test_a_version_links_the_reports_that_exist(data_root: Path) -> None:
    overlap = data_root / "corpus" / "_reports" / "after" / "overlap.md"
    overlap.parent.mkdir(parents=True)
    overlap.write_text("| eval set | 8-grams | in the corpus |\n")
    reports = {"overlap": overlap, "other": data_root / "nowhere.md"}
    version, _ = record_version(data_root, data_root / "tokens", {}, [], {}, reports=reports)
    assert version["reports"] == {"overlap": str(overlap)}  # a report the run did not write is not linked
