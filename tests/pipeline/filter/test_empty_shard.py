"""A docs shard with no documents (a harvest bucket that kept nothing) filters to an empty shard, not a crash."""

from __future__ import annotations

from pathlib import Path

from dedup_fixtures import make_document, write_docs
from filter_fixtures import article_text

from pipeline.filter.config import FilterConfig
from pipeline.filter.stage import run_filter
from pipeline.shards import complete_shards, read_stats


def test_an_empty_docs_shard_gives_an_empty_output_shard(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", [[], [make_document("en0", article_text("en"))]])
    summary = run_filter(tmp_path / "docs", tmp_path / "out", FilterConfig(workers=1))
    assert summary.counts["documents"] == 1 and summary.units == 2
    empty, _ = complete_shards(tmp_path / "out")
    assert (read_stats(empty) or {})["rows"] == 0
