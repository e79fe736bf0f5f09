"""One run per output folder: a second run fails at once naming the first; a dead run's lock is taken over."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.lock import LOCK_FILE, FolderLocked, folder_lock

REPO_ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from pathlib import Path
from pipeline.lock import folder_lock
with folder_lock(Path(sys.argv[1]), "fetch"):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path: Path):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait(timeout=10)


def test_a_second_run_fails_at_once_naming_the_first(tmp_path: Path, holder: subprocess.Popen) -> None:
    started = time.monotonic()
    with pytest.raises(FolderLocked, match=rf"in use by `fetch` \(pid {holder.pid} on "), folder_lock(tmp_path, "x"):
        pass
    assert time.monotonic() - started < 1


def test_the_lock_of_a_killed_run_is_taken_over_with_a_warning(
    tmp_path: Path, holder: subprocess.Popen, caplog: pytest.LogCaptureFixture
) -> None:
    holder.kill()
    holder.wait(timeout=10)
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == holder.pid  # left behind by the kill
    with caplog.at_level(logging.WARNING), folder_lock(tmp_path, "extract"):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert f"pid {holder.pid}" in caplog.text and "no longer running" in caplog.text
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_finished_run_leaves_the_folder_free(tmp_path: Path) -> None:
    with folder_lock(tmp_path / "out", "filter"):
        with pytest.raises(FolderLocked, match="`filter`"), folder_lock(tmp_path / "out", "filter"):
            pass
    with folder_lock(tmp_path / "out", "filter"):
        pass
    assert list((tmp_path / "out").iterdir()) == []
