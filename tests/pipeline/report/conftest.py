"""This directory goes on ``sys.path`` so tests can import ``report_fixtures``; ``make_run`` builds a run under
``tmp_path``."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import report_fixtures  # noqa: E402


@pytest.fixture
def make_run(tmp_path: Path) -> report_fixtures.MakeRun:
    """``make_run(stages, models=False, **overrides)`` → a data root under ``tmp_path`` with those outputs."""
    return functools.partial(report_fixtures.make_run, tmp_path / "run")
