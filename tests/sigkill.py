"""A stage run in a fresh process that SIGKILLs itself while writing one named output shard: a half-written
temporary file left behind and nothing committed under the final name, as a power cut or the OOM killer leaves
a run. No ``finally`` or ``except`` of the stage runs, unlike a raised exception."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import importlib, os, signal, sys
from pathlib import Path
from pipeline import shards

module, victim, call = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
stage = importlib.import_module(module)
real = stage.write_shard

def write_or_die(table, path, **kwargs):
    if Path(path) == victim:
        shards.temporary_path(victim).write_bytes(b"PAR1 half a shard")
        os.kill(os.getpid(), signal.SIGKILL)
    return real(table, path, **kwargs)

stage.write_shard = write_or_die
exec(call)
"""


def run_killed_while_writing(stage_module: str, victim: Path, call: str, timeout_s: float = 300) -> None:
    """Run ``call`` (Python source) in a new process whose ``stage_module.write_shard`` dies by SIGKILL on ``victim``;
    asserts that it did."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-c", SCRIPT, stage_module, str(victim), call]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s)
    assert result.returncode == -signal.SIGKILL, f"exit {result.returncode}:\n{result.stderr[-3000:]}"
    assert not victim.exists(), f"{victim} was committed before the kill"
