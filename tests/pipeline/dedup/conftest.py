"""One local Spark session for all dedup tests (a session takes seconds to start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.dedup.config import SparkConfig


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from pipeline.dedup.spark.session import build_session

    session = build_session(SparkConfig(master="local[2]", shuffle_partitions=4, driver_memory="1g"))
    yield session
    session.stop()
