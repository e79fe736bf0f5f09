"""The filter stage end to end on Document shards: real models, rejects by reason, resume, rescoring only on need."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sigkill import run_killed_while_writing

from pipeline.cli import main as webtext
from pipeline.filter import stage
from pipeline.filter.config import FilterConfig, LanguageConfig, QualityConfig
from pipeline.filter.fasttext_models import ModelError
from pipeline.filter.stage import run_filter
from pipeline.shards import ShardReadError


def config(model: Path | None, workers: int | None = None, **quality: object) -> FilterConfig:
    return FilterConfig(quality=QualityConfig(model_path=str(model) if model else None, **quality), workers=workers)


def read_all(directory: Path) -> list[dict]:
    return [row for shard in sorted(directory.glob("part-*.parquet")) for row in pq.read_table(shard).to_pylist()]


def rejected_urls(out: Path, reason: str) -> set[str]:
    return {row["url"].rsplit("/", 1)[1] for row in read_all(out / "rejected" / "filter" / reason)}


def test_documents_are_kept_or_rejected_with_a_reason_and_scores(docs: Path, tmp_path: Path, quality_model) -> None:
    model, _ = quality_model
    out = tmp_path / "out"
    summary = run_filter(docs, out, config(model, workers=1, selection="none"))
    assert summary.counts["documents"] == 19 and summary.counts["kept"] + sum(summary.outcomes.values()) == 19
    assert rejected_urls(out, "language_not_allowed") == {f"lang-{code}" for code in ("de", "fr", "ru", "zh", "es")}
    assert summary.outcomes["too_few_words"] == 1 and "spam0" in {
        url for reason in summary.outcomes for url in rejected_urls(out, reason)
    }
    kept = read_all(out)
    assert {row["url"].rsplit("/", 1)[1] for row in kept} == {f"en{i}" for i in range(12)}
    assert all(row["language"] == "en" and row["language_score"] >= 0.65 for row in kept)
    assert all(0.0 <= row["quality_score"] <= 1.0 for row in kept)
    assert all(row["language"] for row in read_all(out / "rejected" / "filter" / "language_not_allowed"))
    assert summary.details["languages"]["en"] == 14 and summary.counts["shards_rescored"] == 2


def test_a_rerun_skips_and_a_threshold_change_reuses_the_scores(docs: Path, tmp_path: Path, quality_model) -> None:
    model, _ = quality_model
    out = tmp_path / "out"
    run_filter(docs, out, config(model, workers=1, selection="none"))
    again = run_filter(docs, out, config(model, workers=1, selection="none"))
    assert again.units_skipped == 2 and again.units_done == 0
    stricter = run_filter(docs, out, config(model, workers=1, selection="threshold", threshold=0.999))
    assert stricter.units_done == 2 and stricter.counts["shards_rescored"] == 0  # only the decision reran
    assert stricter.counts["kept"] + stricter.outcomes.get("low_quality", 0) == again.counts["kept"]
    german = dataclasses.replace(config(model, selection="none"), language=LanguageConfig(languages=("en", "de")))
    with_german = run_filter(docs, out, dataclasses.replace(german, workers=1))
    assert with_german.counts["kept"] == again.counts["kept"] + 1 and with_german.counts["shards_rescored"] == 0
    assert not (out / "rejected" / "filter" / "low_quality" / "part-00000.parquet").exists()


def test_a_crash_mid_stage_loses_nothing_and_the_rerun_writes_the_same_bytes(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = tmp_path / "clean"
    run_filter(docs, clean, FilterConfig(workers=1))
    crashed = tmp_path / "crashed"
    real = stage.write_shard
    calls = {"n": 0}

    def crash_on_second_shard(table, path, **kwargs):
        calls["n"] += 1
        if path.parent == crashed and path.name == "part-00001.parquet":
            raise OSError("disk full")
        return real(table, path, **kwargs)

    monkeypatch.setattr(stage, "write_shard", crash_on_second_shard)
    with pytest.raises(OSError, match="disk full"):
        run_filter(docs, crashed, FilterConfig(workers=1))
    monkeypatch.setattr(stage, "write_shard", real)
    resumed = run_filter(docs, crashed, FilterConfig(workers=1))
    assert resumed.units_skipped == 1 and resumed.units_done == 1
    for name in ("part-00000.parquet", "part-00001.parquet"):
        assert (crashed / name).read_bytes() == (clean / name).read_bytes()


def test_a_run_sigkilled_while_writing_a_shard_resumes_to_the_same_bytes(docs: Path, tmp_path: Path) -> None:
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    run_filter(docs, clean, FilterConfig(workers=1))
    call = f"run_filter(Path({str(docs)!r}), Path({str(killed)!r}), FilterConfig(workers=1))"
    setup = "from pipeline.filter.config import FilterConfig; from pipeline.filter.stage import run_filter; "
    run_killed_while_writing("pipeline.filter.stage", killed / "part-00001.parquet", setup + call)
    assert (killed / "part-00000.parquet").is_file() and list(killed.glob(".part-00001.parquet.*.tmp"))
    resumed = run_filter(docs, killed, FilterConfig(workers=1))
    assert resumed.units_skipped == 1 and resumed.units_done == 1
    for name in ("part-00000.parquet", "part-00001.parquet"):
        assert (killed / name).read_bytes() == (clean / name).read_bytes()
    assert not list(killed.rglob(".*.tmp"))


def damage(shard: Path) -> None:
    """Overwrite the inside of a Parquet file, keeping its size and magic bytes (what a bad disk does)."""
    data = shard.read_bytes()
    shard.write_bytes(data[:8] + b"\x00" * (len(data) - 16) + data[-8:])


def test_a_damaged_docs_shard_is_named_and_finished_shards_are_kept(docs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pristine = (docs / "part-00001.parquet").read_bytes()
    damage(docs / "part-00001.parquet")
    with pytest.raises(ShardReadError, match="part-00001.parquet: unreadable Parquet shard"):
        run_filter(docs, out, FilterConfig(workers=1))
    assert (out / "part-00000.parquet").is_file()
    (docs / "part-00001.parquet").write_bytes(pristine)
    resumed = run_filter(docs, out, FilterConfig(workers=1))
    assert resumed.units_skipped == 1 and resumed.units_done == 1


def test_a_damaged_score_cache_is_recomputed(docs: Path, tmp_path: Path, quality_model) -> None:
    model, _ = quality_model
    out = tmp_path / "out"
    first = run_filter(docs, out, config(model, workers=1, selection="none"))
    damage(out / "scores" / "part-00000.parquet")
    stricter = run_filter(docs, out, config(model, workers=1, selection="threshold", threshold=0.0))
    assert stricter.counts["shards_rescored"] == 1 and stricter.counts["kept"] == first.counts["kept"]


def test_parallel_workers_write_the_same_bytes(docs: Path, tmp_path: Path) -> None:
    run_filter(docs, tmp_path / "one", FilterConfig(workers=1))
    run_filter(docs, tmp_path / "two", FilterConfig(workers=2))
    for name in ("part-00000.parquet", "part-00001.parquet"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_bad_inputs_are_named(tmp_path: Path, docs: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        run_filter(tmp_path / "nowhere", tmp_path / "out", FilterConfig())
    with pytest.raises(ModelError, match="quality.bin"):
        run_filter(docs, tmp_path / "out", config(tmp_path / "quality.bin"))
    assert not (tmp_path / "out" / "part-00000.parquet").exists()


def test_cli_filters_and_reports_errors(docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert webtext(["filter", str(docs), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "documents 19, kept 12" in printed and "language_not_allowed" in printed
    missing = ["filter", str(docs), "--out", str(tmp_path / "x"), "--quality-model", str(tmp_path / "m.bin")]
    assert webtext(missing) == 2
    assert "m.bin" in capsys.readouterr().err
