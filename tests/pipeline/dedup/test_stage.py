"""The dedup stage end to end on local Spark (and, where the fixture says, the in-process engine): planted
duplicates, chains, survivors, resume, increments."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from dedup_fixtures import edited, make_document, random_ideographs, random_words, true_jaccard, write_docs

from pipeline.dedup.config import DedupConfig, SparkConfig
from pipeline.dedup.stage import run_dedup
from pipeline.records import Document, from_table
from pipeline.shards import read_json, read_stats

SURVIVORS = {"near-1pct", "far-30pct", "chain-a", "russian", "empty-1", "tiny", "chinese", "unrelated"}
CONFIG = DedupConfig(bands=20, rows=6, engine="spark")  # steep enough that J ~ 0.86 pairs always collide


def kept_names(out_dir: Path) -> set[str]:
    return {
        doc.title
        for path in sorted(out_dir.glob("part-*.parquet"))
        for doc in from_table(pq.read_table(path), Document)
    }


def rejected(out_dir: Path, reason: str) -> set[str]:
    paths = sorted((out_dir / "rejected" / "dedup" / reason).glob("part-*.parquet"))
    return {doc.title for path in paths for doc in from_table(pq.read_table(path), Document)}


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two shards with every kind of duplicate, deduplicated once for the tests that only read."""
    rng = random.Random(11)
    base, chain, other = random_words(rng, 400), random_words(rng, 400), random_words(rng, 400)
    chain_b = edited(chain, rng, 0.015, offset=10)  # A~B and B~C (J ~ 0.86), but A and C are too far apart
    chain_c = edited(chain_b, rng, 0.015, offset=43)
    chinese = random_ideographs(rng, 600)
    first = [
        make_document("original", " ".join(base), karma=5, hours=3),
        make_document("near-1pct", " ".join(edited(base, rng, 0.01)), karma=5, hours=0),
        make_document("far-30pct", " ".join(edited(base, rng, 0.3)), karma=99),
        make_document("chain-a", " ".join(chain), karma=3),
        make_document("russian", "Быстрая коричневая лиса прыгает через ленивую собаку " * 20, karma=3),
        make_document("empty-1", "", karma=1),
        make_document("tiny", "Hello world", karma=1),
    ]
    second = [
        make_document("shouting-copy", " ".join(base).upper() + " !!!", karma=5, hours=1),
        make_document("chain-b", " ".join(chain_b), karma=2),
        make_document("chain-c", " ".join(chain_c), karma=1),
        make_document("chinese", "".join(chinese), karma=3),
        make_document("chinese-near", "".join(edited(chinese, rng, 0.01)), karma=2),
        make_document("empty-2", "   ", karma=1),
        make_document("unrelated", " ".join(other), karma=1),
    ]
    assert true_jaccard(" ".join(chain), " ".join(chain_c)) < 0.8 < true_jaccard(" ".join(chain), " ".join(chain_b))
    assert true_jaccard(" ".join(base), " ".join(edited(base, random.Random(0), 0.3))) < 0.3
    root = tmp_path_factory.mktemp("dedup")
    write_docs(root / "docs", [first, second])
    return root / "docs", root / "out"


@pytest.fixture(scope="module", params=["spark", "local"])
def deduped(planted: tuple[Path, Path], spark, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    docs, out = planted
    out = out.with_name(f"{out.name}-{request.param}")
    run_dedup(docs, out, dataclasses.replace(CONFIG, engine=request.param), spark=spark)
    return docs, out


def test_exact_near_and_chain_duplicates_are_removed(deduped: tuple[Path, Path]) -> None:
    _, out = deduped
    assert kept_names(out) == SURVIVORS
    # the copy is a near duplicate of the survivor; the original is an exact one of the copy
    assert rejected(out, "exact_duplicate") == {"original", "empty-2"}
    assert rejected(out, "near_duplicate") == {"shouting-copy", "chain-b", "chain-c", "chinese-near"}


def members_by_title(out: Path) -> dict[str, dict]:
    titles = {make_document(name, "").id: name for name in ("original", "near-1pct", "shouting-copy", "empty-1")}
    titles |= {make_document(name, "").id: name for name in ("empty-2", "chain-a", "chain-b", "chain-c")}
    members = ds.dataset(out / "duplicates", format="parquet", partitioning="hive").to_table().to_pylist()
    return {titles[row["id"]]: row | {"kept": titles.get(row["kept_id"])} for row in members if row["id"] in titles}


def test_survivor_is_highest_karma_then_earliest_then_id(deduped: tuple[Path, Path]) -> None:
    members = members_by_title(deduped[1])
    # original, near-1pct and the copy tie on karma 5: near-1pct was first seen earliest
    assert {members[name]["kept"] for name in ("original", "near-1pct", "shouting-copy")} == {"near-1pct"}
    assert members["near-1pct"]["reason"] == "kept" and members["near-1pct"]["jaccard"] == 1.0
    assert 0.8 < members["shouting-copy"]["jaccard"] < 1.0
    assert members["chain-b"]["kept"] == "chain-a"  # karma 3 beats 2 and 1


def test_chain_is_one_cluster_even_where_ends_are_not_similar(deduped: tuple[Path, Path]) -> None:
    _, out = deduped
    members = members_by_title(out)
    assert len({members[name]["cluster_id"] for name in ("chain-a", "chain-b", "chain-c")}) == 1
    assert members["chain-c"]["jaccard"] < CONFIG.threshold  # C is in the cluster only through B


def test_counts_and_cluster_statistics(deduped: tuple[Path, Path]) -> None:
    _, out = deduped
    summary = read_json(out / "summary.json")
    assert summary["counts"]["documents"] == 14 and summary["counts"]["kept"] == 8
    assert summary["outcomes"] == {"exact_duplicate": 2, "near_duplicate": 4}
    assert summary["details"]["clusters"]["cluster_sizes"] == {"2": 2, "3": 2}  # empties and chinese; chain and base
    assert read_json(out / "clusters.json")["statistics"]["clusters"] == 4


def test_a_checkpoint_folder_gives_the_same_decision_and_is_emptied(deduped, spark, tmp_path: Path) -> None:
    """Reliable checkpoints (a cluster's kind) instead of local ones: the same signatures, clusters and survivors."""
    docs, reference = deduped
    folder = tmp_path / "checkpoints"
    cfg = dataclasses.replace(CONFIG, spark=SparkConfig(checkpoint_dir=str(folder)))
    summary = run_dedup(docs, tmp_path / "out", cfg, spark=spark)
    assert summary.outcomes == {"exact_duplicate": 2, "near_duplicate": 4}
    assert kept_names(tmp_path / "out") == SURVIVORS
    assert members_by_title(tmp_path / "out") == members_by_title(reference)
    for name in ("signatures/part-00000.parquet", "signatures/part-00001.parquet", "part-00001.parquet"):
        assert read_stats(tmp_path / "out" / name)["sha256"] == read_stats(reference / name)["sha256"]
    assert folder.is_dir() and not any(folder.iterdir())  # this run's checkpoints are gone, the folder stays
    assert not any((tmp_path / "out" / "_scratch").iterdir())


def test_rerun_skips_everything_and_changed_threshold_reuses_signatures(deduped, spark, tmp_path: Path) -> None:
    docs, out = deduped
    again = run_dedup(docs, out, CONFIG, spark=spark)
    assert (
        again.details["decision_reused"] and again.units_skipped == 2 and again.counts["signature_shards_computed"] == 0
    )
    looser = run_dedup(docs, out, DedupConfig(threshold=0.5, bands=20, rows=6, engine="spark"), spark=spark)
    assert (
        looser.counts["signature_shards_computed"] == 0
        and not looser.details["decision_reused"]
        and looser.units_done == 2
    )
    restored = run_dedup(docs, out, CONFIG, spark=spark)
    assert kept_names(out) == SURVIVORS
    assert restored.outcomes == {"exact_duplicate": 2, "near_duplicate": 4}


def test_crash_mid_apply_is_finished_by_a_rerun(planted: tuple[Path, Path], spark, tmp_path: Path, monkeypatch) -> None:
    docs, _ = planted
    out = tmp_path / "out"
    import pipeline.dedup.stage as stage

    real_apply, calls = stage.apply_decisions, []

    def crash_on_second(*args, **kwargs):
        calls.append(args[0].name)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(stage, "apply_decisions", crash_on_second)
    with pytest.raises(OSError, match="disk full"):
        run_dedup(docs, out, CONFIG, spark=spark)
    monkeypatch.setattr(stage, "apply_decisions", real_apply)
    assert not list(out.glob(".*.tmp"))  # the half-written shard was never renamed into place
    resumed = run_dedup(docs, out, CONFIG, spark=spark)
    assert resumed.details["decision_reused"] and resumed.counts["signature_shards_computed"] == 0
    assert resumed.units_skipped == 1 and resumed.units_done == 1
    assert resumed.counts["kept"] == 8


def test_incremental_run_drops_what_the_corpus_already_has(deduped, spark, tmp_path: Path) -> None:
    _, corpus = deduped
    rng = random.Random(11)
    base = random_words(rng, 400)  # the same words as the planted corpus's base text
    fresh = random_words(random.Random(99), 300)
    night = [
        make_document("nightly-copy", " ".join(base) + " extra", karma=10_000),  # outranks it, still dropped
        make_document("nightly-new", " ".join(fresh), karma=1),
        make_document("nightly-new-copy", " ".join(fresh) + ".", karma=0),
    ]
    write_docs(tmp_path / "night", [night])
    summary = run_dedup(tmp_path / "night", tmp_path / "night-out", CONFIG, against=corpus, spark=spark)
    assert kept_names(tmp_path / "night-out") == {"nightly-new"}
    assert summary.outcomes == {"exact_duplicate": 1, "near_duplicate": 1}
    assert summary.details["clusters"]["new_documents_matching_reference"] == 1
    assert summary.counts["signature_shards_computed"] == 1  # the corpus's signatures were reused, not recomputed


def test_missing_or_foreign_input_is_a_clear_error(tmp_path: Path, spark) -> None:
    with pytest.raises(FileNotFoundError, match="run the extract stage first"):
        run_dedup(tmp_path / "nowhere", tmp_path / "out", CONFIG, spark=spark)
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "data.parquet").write_bytes(b"PAR1")
    with pytest.raises(ValueError, match="no completed shards"):
        run_dedup(tmp_path / "loose", tmp_path / "out", CONFIG, spark=spark)
