"""The filter stage as a flow maps it (``open_filter``), and its code fingerprint in the unit fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest
from sharded_runs import check_mapped_against_local

from pipeline.filter import stage
from pipeline.filter.config import FilterConfig, QualityConfig
from pipeline.filter.stage import open_filter, run_filter


@pytest.fixture
def cfg(quality_model) -> FilterConfig:
    model, _ = quality_model
    return FilterConfig(quality=QualityConfig(model_path=str(model), selection="none"), workers=1)


def test_jobs_run_alone_in_any_order_write_what_run_filter_writes(
    docs: Path, tmp_path: Path, cfg: FilterConfig
) -> None:
    check_mapped_against_local(run_filter, open_filter, docs, cfg, tmp_path, jobs=2, per_run=("shards_rescored",))


def test_an_edit_of_the_filter_code_redoes_its_units_and_rescores(
    docs: Path, tmp_path: Path, cfg: FilterConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_filter(docs, tmp_path / "out", cfg)
    monkeypatch.setattr(stage, "code_fingerprint", lambda *packages: "edited")
    again = run_filter(docs, tmp_path / "out", cfg)
    assert again.units_done == 2 and again.counts["shards_rescored"] == 2
    assert again.details["code_fingerprint"] == "edited" != first.details["code_fingerprint"]
    assert run_filter(docs, tmp_path / "out", cfg).units_skipped == 2
