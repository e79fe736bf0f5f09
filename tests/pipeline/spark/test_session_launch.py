"""A Spark driver whose JVM exits while it starts is launched again; one that never starts fails with pyspark's error.

The failures are real: ``JAVA_HOME`` points at a ``bin/java`` that exits with an error for its first calls and then
runs the real ``java``. Each case runs in a child process, because this process's JVM (the shared ``spark`` fixture)
may already be running, and a running JVM is never launched again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SESSION = """
import sys
from pipeline.spark import session as spark_session
from pipeline.services.config import SparkConfig

spark_session.JVM_RETRY_PAUSE_S = 0.1
session = spark_session.build_session(SparkConfig(master="local[1]", driver_memory="512m", shuffle_partitions=1))
print("count", session.range(4).count(), flush=True)
session.stop()
"""
FAKE_JAVA = """#!/bin/sh
calls=$(($(cat "{counter}") + 1))
echo "$calls" > "{counter}"
if [ "$calls" -le {failures} ]; then
    echo "Error occurred during initialization of VM (call $calls, made to fail by the test)" >&2
    exit 1
fi
exec "{java}" "$@"
"""


def launch(tmp_path: Path, failures: int) -> tuple[subprocess.CompletedProcess, int]:
    """A child building a local session with a ``java`` that fails its first ``failures`` calls; (result, calls)."""
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on PATH")
    home, counter = tmp_path / "jdk", tmp_path / "calls"
    (home / "bin").mkdir(parents=True)
    counter.write_text("0")
    fake = home / "bin" / "java"
    fake.write_text(FAKE_JAVA.format(counter=counter, failures=failures, java=os.path.realpath(java)))
    fake.chmod(0o755)
    env = {**os.environ, "JAVA_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", SESSION], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    return result, int(counter.read_text())


def test_a_jvm_that_exits_while_starting_is_launched_again(tmp_path: Path) -> None:
    result, calls = launch(tmp_path, failures=1)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "count 4" in result.stdout
    assert "made to fail by the test" in result.stderr  # spark-submit's own message stays visible
    assert "exited while starting (try 1 of 3" in result.stderr
    assert calls == 3  # the failed launch, then the launcher and the driver of the second


def test_a_jvm_that_never_starts_fails_after_the_last_try(tmp_path: Path) -> None:
    result, calls = launch(tmp_path, failures=1000)
    assert result.returncode != 0
    assert "JAVA_GATEWAY_EXITED" in result.stderr
    assert "try 2 of 3" in result.stderr and "try 3 of 3" not in result.stderr
    assert calls == 3  # three launches, each failing at its first java call
