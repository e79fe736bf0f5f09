"""The dedup tests' Document helpers (``dedup_fixtures``) go on ``sys.path`` for these tests too."""

from __future__ import annotations

import sys
from pathlib import Path

DEDUP_TESTS = Path(__file__).resolve().parent.parent / "dedup"
if str(DEDUP_TESTS) not in sys.path:
    sys.path.insert(0, str(DEDUP_TESTS))
