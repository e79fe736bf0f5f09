"""Dedup into a folder that already holds one: only new docs shards are decided, earlier outputs stay as they are."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dedup_fixtures import edited, make_document, random_words, write_docs

from pipeline.dedup import increment, stage
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.increment import record_settled, settled_shards
from pipeline.dedup.stage import run_dedup
from pipeline.shards import complete_shards, file_sha256

RNG = random.Random(11)
BASE = [random_words(RNG, 300) for _ in range(4)]


def text(words: list[str]) -> str:
    return " ".join(words)


def kept_titles(out: Path) -> set[str]:
    return {row["title"] for shard in complete_shards(out) for row in pq.read_table(shard).to_pylist()}


@pytest.mark.parametrize("engine", ["spark", "local"])
def test_new_documents_are_decided_against_what_the_folder_kept(spark, tmp_path: Path, engine: str) -> None:
    docs, out = tmp_path / "docs", tmp_path / "out"
    first = [make_document(f"a{i}", text(words), karma=5) for i, words in enumerate(BASE)]
    first.append(make_document("a0-copy", text(BASE[0]), karma=1))  # an exact duplicate inside the first month
    write_docs(docs, [first])
    january = run_dedup(docs, out, DedupConfig(engine=engine), spark=spark)
    assert january.outcomes == {"exact_duplicate": 1} and kept_titles(out) == {"a0", "a1", "a2", "a3"}
    earlier = {shard.name: file_sha256(shard) for shard in complete_shards(out)}

    february = [
        make_document("b-near-a1", text(edited(BASE[1], RNG, 0.02)), karma=99),  # more karma: would win a fresh run
        make_document("b-copy-a2", text(BASE[2]), karma=50),
        make_document("b-new", text(random_words(RNG, 300)), karma=3),
    ]
    write_docs(docs, [first, february])
    grown = run_dedup(docs, out, DedupConfig(engine=engine), spark=spark)
    assert {shard.name: file_sha256(out / shard.name) for shard in complete_shards(docs)[:1]} == earlier
    assert grown.units_skipped == 1 and grown.details["settled_shards"] == 1
    assert grown.outcomes == {"exact_duplicate": 2, "near_duplicate": 1}
    assert kept_titles(out) == {"a0", "a1", "a2", "a3", "b-new"}

    again = run_dedup(
        docs, out, DedupConfig(engine=engine), spark=None
    )  # nothing new: no Spark session is even started
    assert again.units_skipped == 2 and again.counts["signature_shards_computed"] == 0

    run_dedup(docs, tmp_path / "fresh", DedupConfig(engine=engine), spark=spark)  # the whole corpus decided at once
    assert "b-near-a1" in kept_titles(tmp_path / "fresh") and "a1" not in kept_titles(tmp_path / "fresh")
    # another setting: all decided again
    stricter = run_dedup(docs, out, DedupConfig(threshold=0.9, engine=engine), spark=spark)
    assert stricter.units_skipped == 0 and stricter.details["settled_shards"] == 0


def test_an_edit_of_the_dedup_code_unsettles_the_folder_and_changes_every_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like a decision setting: the next run decides the whole folder again, from new signatures (no Spark here:
    the keys that make it so)."""
    cfg, documents = DedupConfig(), [make_document("a0", text(BASE[0]))]
    inputs = write_docs(tmp_path / "docs", [documents])
    write_docs(tmp_path / "out", [documents])  # stands for the shard a completed run wrote
    record_settled(tmp_path / "out", inputs, cfg, None)
    assert settled_shards(tmp_path / "out", inputs, cfg, None) == ["part-00000.parquet"]
    keys = (stage._signature_fingerprint(inputs[0], cfg), stage._decision_fingerprint(inputs, None, cfg))
    for module in (stage, increment):
        monkeypatch.setattr(module, "code_fingerprint", lambda *packages: "edited")
    assert settled_shards(tmp_path / "out", inputs, cfg, None) == []
    after = (stage._signature_fingerprint(inputs[0], cfg), stage._decision_fingerprint(inputs, None, cfg))
    assert not set(keys) & set(after)
