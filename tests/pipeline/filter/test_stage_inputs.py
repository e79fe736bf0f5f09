"""The filter stage and its input folder: an empty docs shard, a vanished one, a folder another run holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from dedup_fixtures import make_document, write_docs
from filter_fixtures import article_text

from pipeline.filter.config import FilterConfig
from pipeline.filter.stage import run_filter
from pipeline.lock import FolderLocked, folder_lock
from pipeline.rejects import OrphanShardsError
from pipeline.shards import complete_shards, read_stats


def test_an_empty_docs_shard_gives_an_empty_output_shard(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", [[], [make_document("en0", article_text("en"))]])
    summary = run_filter(tmp_path / "docs", tmp_path / "out", FilterConfig(workers=1))
    assert summary.counts["documents"] == 1 and summary.units == 2
    empty, _ = complete_shards(tmp_path / "out")
    assert (read_stats(empty) or {})["rows"] == 0


def test_output_of_another_input_is_never_deleted_silently(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, [[make_document("en0", article_text("en"))], [make_document("en1", article_text("en"))]])
    run_filter(docs, tmp_path / "out", FilterConfig(workers=1))
    for path in docs.glob("part-00001.*"):
        path.unlink()  # as if --out now pointed at the output of another, smaller input
    with pytest.raises(OrphanShardsError, match=r"1 finished filter shard\(s\) whose input shard is gone"):
        run_filter(docs, tmp_path / "out", FilterConfig(workers=1))
    assert len(complete_shards(tmp_path / "out")) == 2
    summary = run_filter(docs, tmp_path / "out", FilterConfig(workers=1), replace=True)
    assert summary.units == 1 and [shard.name for shard in complete_shards(tmp_path / "out")] == ["part-00000.parquet"]


def test_a_second_run_on_the_same_folder_fails_at_once(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_docs(docs, [[make_document("en0", article_text("en"))]])
    with folder_lock(tmp_path / "out", "filter"), pytest.raises(FolderLocked, match="in use by `filter`"):
        run_filter(docs, tmp_path / "out", FilterConfig(workers=1))
    assert complete_shards(tmp_path / "out") == []
