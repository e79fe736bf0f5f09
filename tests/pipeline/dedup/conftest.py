"""This directory goes on ``sys.path`` so tests can import ``dedup_fixtures``; the shared Spark session
(fixture ``spark``) lives in ``tests/conftest.py``."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
