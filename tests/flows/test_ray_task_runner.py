"""The flow's mapped per-shard tasks on a Ray cluster: prefect-ray's RayTaskRunner, address from the run config.

A real two-node Ray cluster on 127.0.0.1 (a head and a worker, one CPU each, started with ``ray start``
and token authentication), a real Prefect server, and ``python -m flows.webtext`` running the tokenize
slice with ``services: {task_runner: {kind: ray}, ray: {address: ...}}``: its three shard tasks run as Ray
tasks and write what the local stage writes. The cluster, and the local Ray the task runner starts when no
address is set, run no stranger's code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from ray_strangers import assert_only_token_holders_run_tasks, gcs_address_of, stop_tree

from flows.local_server import free_port, local_prefect_server, stop_process_group
from pipeline.services.ray_token import enable_ray_token
from pipeline.shards import read_json
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.stage import run_tokenize

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]
TOKENIZE_TESTS = REPO_ROOT / "tests" / "pipeline" / "tokenize"
RAY = str(Path(sys.executable).with_name("ray"))
SHARD_TASK = re.compile(r"tokenize-part-\d{5}")


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A head and one worker node; yields the head's address and the environment that reaches it."""
    logs = tmp_path_factory.mktemp("ray")
    port = free_port()
    enable_ray_token(create=True)  # this test session's token (tests/conftest.py), in RAY_AUTH_* for every node
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--num-cpus=1", "--block", "--disable-usage-stats"]
    head_command = [
        RAY,
        "start",
        "--head",
        f"--port={port}",
        "--node-ip-address=127.0.0.1",
        "--include-dashboard=false",
    ]
    nodes = [
        subprocess.Popen(
            [*head_command, *common],
            env=env,
            stdout=open(logs / "head.log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ]
    address = f"127.0.0.1:{port}"
    try:
        wait_for(lambda: subprocess.run([RAY, "health-check", "--address", address], env=env).returncode == 0)
        worker_command = [RAY, "start", f"--address={address}", "--node-ip-address=127.0.0.1", *common]
        nodes.append(
            subprocess.Popen(
                worker_command,
                env=env,
                stdout=open(logs / "worker.log", "wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        wait_for(lambda: alive_nodes(address, env) == 2)
        yield address, env
    finally:
        for node in reversed(nodes):
            stop_process_group(node)
        # `ray start` records the cluster for later drivers on this machine; it is gone now, so forget it
        current = Path("/tmp/ray/ray_current_cluster")
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()


def wait_for(condition, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the Ray cluster did not come up"
        time.sleep(1)


def alive_nodes(address: str, env: dict[str, str]) -> int:
    script = (
        f"import ray; ray.init(address='{address}', logging_level='ERROR'); print(sum(n['Alive'] for n in ray.nodes()))"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    return int(result.stdout.strip() or 0) if result.returncode == 0 else 0


def test_shard_tasks_run_on_a_ray_cluster_from_the_run_config(
    ray_cluster: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    address, env = ray_cluster
    sys.path.insert(0, str(TOKENIZE_TESTS))
    from tokenize_fixtures import outputs, shard_documents, write_docs

    data_root = tmp_path / "run"
    write_docs(data_root / "corpus", shard_documents())
    tokenize = {"tokenizer": "bpe", "vocab_size": 600, "val_fraction": 0.25, "shard_tokens": 4000, "workers": 1}
    config = {
        "data_root": str(data_root),
        "stages": ["tokenize"],
        "services": {"task_runner": {"kind": "ray"}, "ray": {"address": address}},
        "tokenize": tokenize,
    }
    config_path = tmp_path / "ray.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    home = tmp_path / "prefect-home"
    settings = {"PREFECT_HOME": str(home), "PREFECT_UI_ENABLED": "false"}
    with local_prefect_server(env=settings, log_path=tmp_path / "server.log") as api_url:
        flow_env = {**env, **settings, "PREFECT_API_URL": api_url}
        command = [sys.executable, "-m", "flows.webtext", "--config", str(config_path)]
        result = subprocess.run(command, env=flow_env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
        deadline = time.monotonic() + 30  # task runs reach the server as events, a moment after the flow ends
        while True:
            tasks = httpx.post(f"{api_url}/task_runs/filter", json={}, timeout=30).json()
            shard_runs = [task for task in tasks if task["name"].startswith("tokenize-part-")]
            settled = len(shard_runs) >= 3 and all(task["state_type"] == "COMPLETED" for task in shard_runs)
            if settled or time.monotonic() > deadline:
                break
            time.sleep(1)
    assert len(shard_runs) == 3 and {task["state_type"] for task in shard_runs} == {"COMPLETED"}
    output = result.stdout + result.stderr
    assert f"Connecting to an existing Ray instance at {address}" in output  # prefect-ray's RayTaskRunner
    # the shard tasks ran in Ray worker processes: Ray forwards their log lines to the driver with the worker's pid
    # (those of the worker node's own log monitor may not all come back before the driver leaves)
    remote = {
        match[0] for line in output.splitlines() if "pid=" in line for match in [SHARD_TASK.search(line)] if match
    }
    assert remote, output[-5000:]

    local = tmp_path / "local"
    run_tokenize(data_root / "corpus", local, TokenizeConfig(**tokenize))
    assert outputs(data_root / "tokens") == outputs(local)  # byte for byte what the stage writes on one machine
    assert read_json(data_root / "tokens" / "summary.json")["units_done"] == 3
    assert_only_token_holders_run_tasks(address, Path(env["RAY_AUTH_TOKEN_PATH"]), tmp_path)


LOCAL_RUNNER = """
import sys
from flows.runners import make_task_runner
from pipeline.services.config import Services, TaskRunnerService

with make_task_runner(Services(task_runner=TaskRunnerService(kind="ray"))):
    sys.stdin.read()  # until the test is done
"""


def test_the_ray_task_runners_own_local_ray_runs_no_strangers_code(tmp_path: Path) -> None:
    token_file = enable_ray_token(create=True)
    runner = subprocess.Popen(
        [sys.executable, "-c", LOCAL_RUNNER],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert_only_token_holders_run_tasks(gcs_address_of(runner), token_file, tmp_path)
    finally:
        stop_tree(runner)
