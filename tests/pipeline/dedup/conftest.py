"""One local Spark session for all dedup tests (a session takes seconds to start).

This directory goes on ``sys.path`` so tests can import ``dedup_fixtures``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from pipeline.dedup.config import SparkConfig  # noqa: E402


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from pipeline.dedup.spark.session import build_session

    session = build_session(SparkConfig(master="local[2]", shuffle_partitions=4, driver_memory="1g"))
    yield session
    session.stop()
