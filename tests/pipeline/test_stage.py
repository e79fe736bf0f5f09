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
    SummaryError,
    WorkUnit,
    input_sha256,
    plan_units,
    read_summary,
    workers_for_shards,
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


def test_the_summary_file_nests_the_counts_and_reads_back_whole(tmp_path: Path) -> None:
    written = json.loads((tmp_path / SUMMARY_FILE).read_text()) if summary(tmp_path).write() else None
    assert written["format"] == "webtext-summary/2" and written["counts"] == {"documents": 36, "pages": 45}
    assert (written["units"], written["units_done"], written["units_skipped"]) == (4, 3, 1)
    assert list(written["outcomes"]) == ["boilerplate_only", "too_short"]
    assert written["details"] == {"shards": ["part-00000.parquet"]} and written["stage"] == "extract"
    assert read_summary(tmp_path) == summary(tmp_path) == StageSummary.from_json(written)


def test_a_count_may_share_a_name_with_a_summary_field(tmp_path: Path) -> None:
    summary(tmp_path, units=3, seconds=7).write()
    read = read_summary(tmp_path)
    assert read.counts == {"units": 3, "seconds": 7} and (read.units, read.seconds) == (4, 1.5)


def test_a_flat_summary_from_before_the_nesting_reads_the_same(tmp_path: Path) -> None:
    flat = {"stage": "extract", "out_dir": str(tmp_path), "outcomes": {"boilerplate_only": 1, "too_short": 3}}
    flat |= {"documents": 36, "pages": 45, "units": 4, "units_done": 3, "units_skipped": 1, "seconds": 1.5}
    flat |= {"details": {"shards": ["part-00000.parquet"]}, "config": {}}
    (tmp_path / SUMMARY_FILE).write_text(json.dumps(flat))
    assert read_summary(tmp_path) == summary(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "is not a webtext stage summary"),
        ('{"format": "webtext-summary/3", "stage": "extract", "seconds": 1}', "format 'webtext-summary/3'"),
        ('{"format": "webtext-summary/2", "stage": "extract", "counts": [], "seconds": 1}', "are not mappings"),
        ('{"format": "webtext-summary/2", "stage": "extract", "counts": {}}', "units or seconds are missing"),
        ('{"stage": "extract", "units": "four", "seconds": 1}', "units or seconds are missing or malformed"),
    ],
)
def test_a_summary_this_code_cannot_read_is_an_error_naming_it(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / SUMMARY_FILE).write_text(text)
    with pytest.raises(SummaryError, match=f"{tmp_path / SUMMARY_FILE}.*{message}"):
        read_summary(tmp_path)
    assert read_summary(tmp_path / "never-ran") is None


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


def test_unset_workers_start_only_as_many_processes_as_the_documents_repay(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    shards = [finished(tmp_path / f"part-{index:05d}.parquet", "k") for index in range(3)]  # 3 rows each
    assert workers_for_shards(None, shards, documents_per_worker=10) == 1  # 9 documents: one worker
    assert workers_for_shards(None, shards, documents_per_worker=4) == 3
    assert workers_for_shards(None, shards, documents_per_worker=1) == 4  # never more than the cores
    assert workers_for_shards(3, shards, documents_per_worker=100) == 3  # a number the user set is used as given
    assert workers_for_shards(None, [], documents_per_worker=10) == 1
