"""The extract stage as a flow maps it (``open_extract``: one pages shard per job, on a supervisor of its own),
and its code fingerprint in the unit fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest
from extract_fixtures import FetchDirFactory, marked_pages
from sharded_runs import check_mapped_against_local, output_hashes, run_mapped

from pipeline.extract import stage
from pipeline.extract.config import ExtractConfig
from pipeline.extract.stage import open_extract, run_extract
from pipeline.sample.web import Route

CFG = ExtractConfig(workers=2)


def test_jobs_run_alone_in_any_order_write_what_run_extract_writes(sample_fetch_dir: Path, tmp_path: Path) -> None:
    check_mapped_against_local(run_extract, open_extract, sample_fetch_dir, CFG, tmp_path, jobs=2)


def test_a_mapped_job_keeps_the_page_time_limit_and_counts_crashes_the_same(
    make_fetch_dir: FetchDirFactory, routes: list[Route], hooks: str, tmp_path: Path
) -> None:
    pages = marked_pages(routes, ["crash-here", "hang-here"])
    fetch_dir = make_fetch_dir({"part-00001-00000": pages[:2], "part-00001-00001": pages[2:]})
    cfg = ExtractConfig(page_timeout_s=4.0, workers=2, extractor=f"{hooks}:misbehave")  # ordinary pages never hit it
    local = run_extract(fetch_dir, tmp_path / "local", cfg)
    with open_extract(fetch_dir, tmp_path / "mapped", cfg) as run:
        mapped = run_mapped(run)
    assert mapped.outcomes == local.outcomes == {"extractor_error": 1, "timeout": 1}
    assert output_hashes(tmp_path / "mapped") == output_hashes(tmp_path / "local")


def test_an_edit_of_the_extract_code_redoes_its_units(
    sample_fetch_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_extract(sample_fetch_dir, tmp_path / "out", CFG)
    monkeypatch.setattr(stage, "code_fingerprint", lambda *packages: "edited")
    again = run_extract(sample_fetch_dir, tmp_path / "out", CFG)
    assert again.units_done == 2 and again.details["code_fingerprint"] == "edited" != first.details["code_fingerprint"]
    assert run_extract(sample_fetch_dir, tmp_path / "out", CFG).units_skipped == 2
