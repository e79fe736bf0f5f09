"""Rejected records: one shard per reason and input shard, stale reasons removed on rerun."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.records import UrlRecord
from pipeline.rejects import RejectWriter, reject_counts, remove_stale_reject_temporaries, stage_rejects_dir
from pipeline.shards import read_stats


def url_record(url: str) -> UrlRecord:
    return UrlRecord(url, "example.com", 3, 1, datetime(2019, 1, 1, tzinfo=UTC), ["news"], ["abc"])


def test_rows_are_written_per_reason_and_counted(tmp_path: Path) -> None:
    writer = RejectWriter(tmp_path, "filter", "part-00003.parquet", UrlRecord)
    for index in range(3):
        writer.add("too_short", url_record(f"http://example.com/{index}"))
    writer.add("spam", url_record("http://example.com/spam"))
    assert writer.commit("fp1") == {"spam": 1, "too_short": 3}
    shard = stage_rejects_dir(tmp_path, "filter") / "too_short" / "part-00003.parquet"
    assert pq.read_table(shard)["url"].to_pylist() == [f"http://example.com/{index}" for index in range(3)]
    assert (read_stats(shard) or {})["fingerprint"] == "fp1"
    assert reject_counts(stage_rejects_dir(tmp_path, "filter")) == {"spam": 1, "too_short": 3}


def test_a_rerun_without_a_reason_removes_its_old_shard_only_for_that_input(tmp_path: Path) -> None:
    for shard_name in ("part-00000.parquet", "part-00001.parquet"):
        first = RejectWriter(tmp_path, "filter", shard_name, UrlRecord)
        first.add("spam", url_record("http://example.com/spam"))
        first.commit("fp1")
    again = RejectWriter(tmp_path, "filter", "part-00000.parquet", UrlRecord)
    assert again.commit("fp2") == {}
    spam_dir = stage_rejects_dir(tmp_path, "filter") / "spam"
    assert sorted(path.name for path in spam_dir.glob("part-*")) == ["part-00001.parquet", "part-00001.stats.json"]


def test_reasons_must_be_snake_case(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="snake_case"):
        RejectWriter(tmp_path, "filter", "part-00000.parquet", UrlRecord).add("Too Short", url_record("http://a.b/"))


def test_stale_temporaries_are_removed(tmp_path: Path) -> None:
    reason_dir = stage_rejects_dir(tmp_path, "filter") / "spam"
    reason_dir.mkdir(parents=True)
    (reason_dir / ".part-00000.parquet.42.tmp").write_bytes(b"partial")
    assert remove_stale_reject_temporaries(stage_rejects_dir(tmp_path, "filter")) == 1
