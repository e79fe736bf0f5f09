"""The cluster tests' shared folder: short-named (Ray's socket paths must fit under it), mode 0755 (PostgreSQL runs
as its own user and must pass through), with the secret files ``infra/make-secrets.sh`` makes."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.cluster.supervisor import stop

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def new_cluster_root() -> Iterator[Path]:
    """A fresh cluster folder under build/; every process of it stopped and the folder removed after (kept, with
    its services' and Ray's logs, when ``WEBTEXT_KEEP_CLUSTER=1``)."""
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
        if os.environ.get("WEBTEXT_KEEP_CLUSTER") != "1":
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cluster_root() -> Iterator[Path]:
    with new_cluster_root() as root:
        yield root


@pytest.fixture(scope="module")
def module_cluster_root() -> Iterator[Path]:
    """One cluster folder for the tests of a module that share its services."""
    with new_cluster_root() as root:
        yield root
