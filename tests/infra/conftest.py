"""The cluster tests' shared folder: short-named (Ray's socket paths must fit under it), mode 0755 (PostgreSQL runs
as its own user and must pass through), with the secret files ``infra/make-secrets.sh`` makes."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.cluster.supervisor import stop

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster_root() -> Iterator[Path]:
    """A fresh cluster folder under build/; every process of it stopped and the folder removed after."""
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="c-", dir=build))
    root.chmod(0o755)
    subprocess.run(
        ["sh", str(ROOT / "infra" / "make-secrets.sh"), str(root / "secrets")], check=True, capture_output=True
    )
    try:
        yield root
    finally:
        stop(root)
        shutil.rmtree(root, ignore_errors=True)
