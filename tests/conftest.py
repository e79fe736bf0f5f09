"""Shared fixtures: the bundled sample (generated once per session), paths to ../shared, and one local Spark
session for every test that needs one (dedup, the Wikipedia join: a session takes seconds to start)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.dedup.config import SparkConfig
from pipeline.sample.generate import generate_sample

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:  # the helpers shared across test packages (ray_strangers, listening)
    sys.path.insert(0, TESTS)


def pytest_configure(config: pytest.Config) -> None:
    """Every Ray the tests start (in-process, in a flow subprocess, ``ray start``) uses one token of this test
    session, made on first use in a private temporary folder: never the user's ~/.ray/auth_token."""
    os.environ.pop("RAY_AUTH_TOKEN", None)
    folder = tempfile.mkdtemp(prefix="webtext-ray-token-")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(Path(folder) / "auth_token")


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The generated sample directory and its manifest."""
    directory = tmp_path_factory.mktemp("sample")
    return directory, generate_sample(directory)


@pytest.fixture(scope="session")
def sample_dumps(sample: tuple[Path, dict[str, Any]]) -> list[Path]:
    directory, manifest = sample
    return [directory / name for name in manifest["dumps"]]


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip with the reason when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA} (clone with ../shared beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from pipeline.spark.session import build_session

    session = build_session(SparkConfig(master="local[2]", shuffle_partitions=4, driver_memory="1g"))
    yield session
    session.stop()
