"""Locked by default: the local Ray of a real ``webtext train`` runs no stranger's code, and keeps its token private.

Ray's GCS, raylets and workers listen on every interface; only token authentication keeps whoever reaches
them from running code as this user. While a real training run is in progress, a driver without the
token (empty HOME, no RAY_AUTH_* variables) is refused with Ray's authentication error, and a driver
holding the run's token runs a task. The token appears in no log and no MLflow param.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ray_strangers import assert_only_token_holders_run_tasks, gcs_address_of, stop_tree

pytestmark = pytest.mark.e2e
WEBTEXT = str(Path(sys.executable).with_name("webtext"))


def test_a_strangers_driver_cannot_run_code_in_a_training_run(sample_tokens: Path, tmp_path: Path) -> None:
    token_file = Path(os.environ["RAY_AUTH_TOKEN_PATH"])  # this test session's token (tests/conftest.py)
    out, log = tmp_path / "out", tmp_path / "train.log"
    # long enough to outlive the checks; stopped once they are done
    command = [WEBTEXT, "train", str(sample_tokens), "--out", str(out), "--max-steps", "100000"]
    command += ["--checkpoint-every", "100000", "--eval-every", "100000", "--log-every", "1"]
    with log.open("wb") as sink:
        train = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        address = gcs_address_of(train)
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert_only_token_holders_run_tasks(address, token_file, tmp_path)
        assert train.poll() is None, log.read_text(errors="replace")[-3000:]  # still training: nothing disturbed it
    finally:
        stop_tree(train)
    token = token_file.read_text(encoding="ascii").strip()
    assert token not in log.read_text(errors="replace")
    assert (out / "mlflow.db").is_file() and token.encode() not in (out / "mlflow.db").read_bytes()
