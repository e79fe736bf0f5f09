"""A local Spark session listens on loopback only, with its web UI off (the default) and on (docs/security.md: locked by
default).

It runs in a child process: ``SPARK_LOCAL_IP``, which decides where the UI binds, is read once when the JVM starts,
and this process's JVM (the shared ``spark`` fixture) may already be running. One JVM serves both cases, UI off
first: it shows the variable is in place from the first session of a process, whatever later sessions ask for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from listening import assert_loopback_only, tree_listeners

REPO_ROOT = Path(__file__).resolve().parents[3]
SESSIONS = """
import json, sys
from pipeline.spark.session import build_session
from pipeline.services.config import SparkConfig

for ui_enabled in (False, True):
    cfg = SparkConfig(master="local[1]", driver_memory="512m", shuffle_partitions=1, ui_enabled=ui_enabled)
    session = build_session(cfg)
    assert session.range(3).count() == 3
    print(json.dumps({"ui_enabled": ui_enabled, "ui_url": session.sparkContext.uiWebUrl}), flush=True)
    sys.stdin.readline()  # the test looks at this process tree's sockets meanwhile
    session.stop()
"""


def test_local_spark_listens_on_loopback_with_its_ui_off_and_on(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name != "SPARK_LOCAL_IP"}  # as a user's shell has it
    with (tmp_path / "spark.log").open("w+") as log:
        driver = subprocess.Popen(
            [sys.executable, "-c", SESSIONS],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            for ui_enabled in (False, True):
                line = driver.stdout.readline()
                assert line, f"the Spark driver exited ({driver.poll()}):\n{log.seek(0) or log.read()}"
                state = json.loads(line)
                listeners = tree_listeners(driver.pid)
                assert_loopback_only(listeners)
                assert state["ui_enabled"] is ui_enabled and bool(state["ui_url"]) is ui_enabled
                if ui_enabled:
                    ui_port = urlparse(state["ui_url"]).port
                    assert ui_port in {listener.port for listener in listeners}  # what was checked includes the UI
                driver.stdin.write("\n")
                driver.stdin.flush()
            assert driver.wait(timeout=60) == 0
        finally:
            driver.kill()
            driver.wait()
