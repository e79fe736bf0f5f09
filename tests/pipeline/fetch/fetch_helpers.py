"""Helpers the fetch tests share (a module of its own: test modules cannot import one conftest by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.records import FetchRecord, from_table

# Small timeouts and backoff keep the hostile cases fast; the stage is otherwise at its defaults.
TEST_CONFIG: dict[str, Any] = {
    "per_host_delay_s": 0.0,
    "connect_timeout_s": 1.0,
    "read_timeout_s": 1.0,
    "total_timeout_s": 1.5,
    "backoff_base_s": 0.01,
    "backoff_cap_s": 0.05,
    "resolve_only": True,
}


def read_pages(out_dir: Path) -> dict[str, FetchRecord]:
    """The pages index by URL; fails if any URL is recorded twice."""
    records = [
        record
        for shard in sorted((out_dir / "pages").glob("*.parquet"))
        for record in from_table(pq.read_table(shard), FetchRecord)
    ]
    pages = {record.url: record for record in records}
    assert len(pages) == len(records), "a URL is recorded twice in the pages index"
    return pages
