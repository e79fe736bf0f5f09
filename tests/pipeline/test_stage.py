"""The shared stage parts: planning work units by their fingerprints, a sharded run, and the one summary every stage
returns (code fingerprints: test_code_identity.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.shards import stats_path, write_shard
from pipeline.stage import (
    SUMMARY_FILE,
    ShardedRun,
    StageSummary,
    WorkUnit,
    input_sha256,
    plan_units,
)


def finished(path: Path, key: str, **extra: int) -> Path:
    write_shard(pa.table({"x": [1, 2, 3]}), path, shard_fingerprint=key, extra_stats=extra)
    return path


def test_units_complete_under_their_own_fingerprint_are_done(tmp_path: Path) -> None:
    same = finished(tmp_path / "part-00000.parquet", "a", documents=3)
    changed = finished(tmp_path / "part-00001.parquet", "old")
    units = [
        WorkUnit(same, "a", "first input"),
        WorkUnit(changed, "new", "second input"),  # its input or settings changed since
        WorkUnit(tmp_path / "part-00002.parquet", "c", "third input"),  # never written
    ]
    plan = plan_units(units)
    assert [(unit.source, stats["documents"]) for unit, stats in plan.done] == [("first input", 3)]
    assert [unit.name for unit in plan.todo] == ["part-00001.parquet", "part-00002.parquet"]


def test_a_damaged_or_half_committed_output_is_redone(tmp_path: Path) -> None:
    truncated = finished(tmp_path / "part-00000.parquet", "a")
    truncated.write_bytes(truncated.read_bytes()[:-10])
    no_stats = finished(tmp_path / "part-00001.parquet", "b")
    stats_path(no_stats).unlink()  # killed between the rename and the stats file
    plan = plan_units([WorkUnit(truncated, "a", 0), WorkUnit(no_stats, "b", 1)])
    assert plan.done == [] and [unit.source for unit in plan.todo] == [0, 1]


def test_input_fingerprint_is_the_shards_recorded_hash(tmp_path: Path) -> None:
    shard = finished(tmp_path / "part-00000.parquet", "a")
    assert input_sha256(shard) == json.loads(stats_path(shard).read_text())["sha256"]
    assert input_sha256(tmp_path / "part-00009.parquet") is None


def summary(tmp_path: Path, **counts: int) -> StageSummary:
    return StageSummary(
        stage="extract",
        out_dir=str(tmp_path),
        outcomes={"too_short": 3, "boilerplate_only": 1},
        counts=counts or {"documents": 36, "pages": 45},
        units=4,
        units_skipped=1,
        seconds=1.5,
        details={"shards": ["part-00000.parquet"]},
    )


def test_the_summary_file_carries_the_headline_counts_at_the_top(tmp_path: Path) -> None:
    written = json.loads((tmp_path / SUMMARY_FILE).read_text()) if summary(tmp_path).write() else None
    assert written["documents"] == 36 and written["pages"] == 45
    assert (written["units"], written["units_done"], written["units_skipped"]) == (4, 3, 1)
    assert list(written["outcomes"]) == ["boilerplate_only", "too_short"]
    assert written["details"] == {"shards": ["part-00000.parquet"]} and written["stage"] == "extract"


def test_a_count_cannot_shadow_a_summary_field(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="units"):
        summary(tmp_path, units=3)


def test_a_sharded_run_runs_its_jobs_locally_and_finishes_with_every_result(tmp_path: Path) -> None:
    run = ShardedRun(
        stage="double",
        function=_scaled,
        jobs=[(1,), (2,), (3,)],
        shared=10,
        workers=1,
        summarise=lambda results: StageSummary("double", str(tmp_path), {}, {"total": sum(results)}, 3, 0, 0.0),
    )
    assert run.run_local(lambda position: None).counts == {"total": 60}
    with pytest.raises(AssertionError, match="2 results for 3 jobs"):
        run.finish([10, 20])


def _scaled(factor: int, value: int) -> int:
    return factor * value
