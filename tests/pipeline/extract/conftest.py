"""Fixtures: a fetch output directory built from the sample web's pages, and misbehaving extractors.

This directory goes on ``sys.path`` so tests can import ``extract_fixtures`` and spawned workers
(which inherit ``sys.path``) can import ``extract_test_hooks`` by name.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from extract_fixtures import FetchDirFactory, Page, page_from_route, write_pages_shard  # noqa: E402

from pipeline.sample.web import Route, build_routes  # noqa: E402


@pytest.fixture
def make_fetch_dir(tmp_path: Path) -> FetchDirFactory:
    """Builds a fetch output directory from ``{shard name: pages}``."""

    def build(shards: dict[str, list[Page]]) -> Path:
        fetch_dir = tmp_path / "fetch"
        for name, pages in shards.items():
            write_pages_shard(fetch_dir, name, pages)
        return fetch_dir

    return build


@pytest.fixture(scope="session")
def routes() -> list[Route]:
    return build_routes()


@pytest.fixture(scope="session")
def sample_pages(routes: list[Route]) -> list[Page]:
    """Every route of the sample web as the fetch stage would index it (redirect hops left out)."""
    return [page_from_route(route) for route in routes if not route.role.startswith("redirect")]


@pytest.fixture
def sample_fetch_dir(make_fetch_dir: FetchDirFactory, sample_pages: list[Page]) -> Path:
    """The sample split into two pages shards, as two fetch batches of one URL shard."""
    half = len(sample_pages) // 2
    return make_fetch_dir({"part-00000-00000": sample_pages[:half], "part-00000-00001": sample_pages[half:]})


@pytest.fixture
def hooks() -> str:
    """The module of test extractors, importable in workers because this directory is on ``sys.path``."""
    return "extract_test_hooks"
