"""The Wikipedia n-gram join in Spark against the local match: the same output bytes, rejects and counts; which one
``auto`` picks; a rerun that reuses the join without starting Spark."""

from __future__ import annotations

import bz2
import dataclasses
import random
from pathlib import Path

import pytest
from dedup_fixtures import make_document, random_words, write_docs

from pipeline.decontaminate import spark_join
from pipeline.decontaminate.config import DecontaminateConfig
from pipeline.decontaminate.stage import run_decontaminate
from pipeline.records import Document, to_table
from pipeline.shards import complete_shards, file_sha256, write_shard

CFG = DecontaminateConfig(workers=1, wikipedia_max_ngram_documents=3)


def prose(words: int, seed: int) -> str:
    return " ".join(random_words(random.Random(seed), words)) + "."


def write_wikipedia_dump(path: Path, articles: dict[str, str]) -> Path:
    pages = "".join(
        f"<page><title>{title}</title><ns>0</ns><revision><text>[[{title}]] {text}</text></revision></page>"
        for title, text in articles.items()
    )
    path.write_bytes(bz2.compress(f"<mediawiki>{pages}</mediawiki>".encode()))
    return path


def corpus(tmp_path: Path) -> tuple[Path, Path]:
    """Docs shards with whole and partial copies of two articles, a phrase common enough to be boilerplate, a
    Wikipedia page holding an article (dropped by URL, so never counted) and clean pages; and the dump."""
    articles = {"Harbour": prose(260, 1), "Lighthouse": prose(240, 2)}
    boiler = " ".join(random_words(random.Random(3), 20))
    articles["Stub"] = f"{prose(30, 4)} {boiler}"
    dump = write_wikipedia_dump(tmp_path / "enwiki.xml.bz2", articles)
    harbour, lighthouse = articles["Harbour"], articles["Lighthouse"]
    shards = [
        [
            make_document("copy", harbour),
            make_document("paragraph", f"{prose(150, 10)} {harbour[:500]} {prose(150, 11)}"),
            dataclasses.replace(make_document("wiki", lighthouse), url="https://en.wikipedia.org/wiki/Lighthouse"),
            make_document("clean", prose(300, 12)),
        ],
        [make_document(f"boiler{i}", f"{prose(120, 20 + i)} {boiler} {prose(120, 40 + i)}") for i in range(4)],
        [
            make_document(
                "two", f"{prose(140, 60)} {lighthouse[:400]} {prose(140, 61)} {harbour[-400:]} {prose(9, 62)}"
            ),
            make_document("clean2", prose(200, 63)),
        ],
        [],
    ]
    write_docs(tmp_path / "docs", shards)
    return tmp_path / "docs", dump


def output_files(out: Path) -> dict[str, str]:
    files = [*complete_shards(out), *sorted((out / "rejected").rglob("*.parquet"))]
    return {str(path.relative_to(out)): file_sha256(path) for path in files}


def test_the_spark_join_writes_the_same_bytes_as_the_local_match(tmp_path: Path, spark: object) -> None:
    docs, dump = corpus(tmp_path)
    local = run_decontaminate(docs, tmp_path / "local", dataclasses.replace(CFG, join="local"), wikipedia_dumps=[dump])
    joined = run_decontaminate(
        docs, tmp_path / "spark", dataclasses.replace(CFG, join="spark"), wikipedia_dumps=[dump], spark=spark
    )
    assert (local.details["wikipedia_join"], joined.details["wikipedia_join"]) == ("local", "spark")
    assert joined.counts == local.counts and joined.outcomes == local.outcomes
    assert joined.details["per_reference"] == local.details["per_reference"]
    assert joined.details["references"] == local.details["references"]
    assert local.outcomes == {"wikipedia_domain": 1, "contaminated": 1} and local.counts["trimmed"] == 2
    assert local.details["per_reference"]["wikipedia"]["trimmed"] == 2  # boilerplate (4 documents > 3) ignored
    assert output_files(tmp_path / "spark") == output_files(tmp_path / "local")
    assert joined.details["wikipedia_shards_joined"] == 4


def test_a_rerun_reuses_the_join_and_a_new_shard_joins_alone(
    tmp_path: Path, spark: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, dump = corpus(tmp_path)
    cfg = dataclasses.replace(CFG, join="spark")
    first = run_decontaminate(docs, tmp_path / "out", cfg, wikipedia_dumps=[dump], spark=spark)
    monkeypatch.setattr(spark_join, "spark_session", None)  # an unchanged rerun must not need Spark
    again = run_decontaminate(docs, tmp_path / "out", cfg, wikipedia_dumps=[dump], spark=spark)
    assert again.units_skipped == 4 and again.details["wikipedia_shards_joined"] == 0 and again.counts == first.counts
    monkeypatch.undo()
    later = to_table([make_document("later", prose(300, 90))], Document)
    write_shard(later, docs / "part-00004.parquet", shard_fingerprint="test")
    grown = run_decontaminate(docs, tmp_path / "out", cfg, wikipedia_dumps=[dump], spark=spark)
    assert (
        grown.details["wikipedia_shards_joined"] == 1
        and grown.units_done == 1
        and grown.counts["kept"] == first.counts["kept"] + 1
    )


def test_auto_joins_in_spark_only_above_the_threshold(tmp_path: Path, spark: object) -> None:
    docs, dump = corpus(tmp_path)
    small = run_decontaminate(docs, tmp_path / "small", CFG, wikipedia_dumps=[dump], spark=spark)
    tiny = dataclasses.replace(CFG, spark_min_reference_ngrams=10)
    large = run_decontaminate(docs, tmp_path / "large", tiny, wikipedia_dumps=[dump], spark=spark)
    assert (small.details["wikipedia_join"], large.details["wikipedia_join"]) == ("local", "spark")
    assert small.details["references"]["wikipedia"] > 10
    assert output_files(tmp_path / "small") == output_files(tmp_path / "large")


def test_join_settings_change_speed_only() -> None:
    with pytest.raises(ValueError, match="join"):
        DecontaminateConfig(join="cluster")
    with pytest.raises(ValueError, match="spark_min_reference_ngrams"):
        DecontaminateConfig(spark_min_reference_ngrams=-1)
    spark_cfg = dataclasses.replace(CFG, join="spark", spark_min_reference_ngrams=1)
    assert spark_cfg.cut_identity() == CFG.cut_identity()
