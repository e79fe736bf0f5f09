"""``make cluster-demo`` for real, each host in its own network namespace: the ``webtext-build`` deployment runs
on the pool's worker and spreads over the cluster, writes the tokens and documents the embedded run writes, and
every service refuses strangers.

The demo's run (flows/configs/sample.yaml: both CPU presets, evaluated as ``make demo`` does) with shorter
training. It needs root (``ip netns``) and PostgreSQL's binaries, and is skipped, saying which, without them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import ray_strangers
import yaml

from flows.local_server import local_prefect_server
from infra.cluster.__main__ import down, up
from infra.cluster.demo import cluster_environment, deploy, run_deployment
from infra.cluster.netns import HOSTS, netns_available
from infra.cluster.outputs import DEMO_RUN, RunSpec, run_config
from infra.cluster.postgres import postgres_unavailable

# The module's fixture brings the cluster up, runs the whole demo through it and the data stages embedded: about
# 7 minutes on 2 cores, more on a loaded machine, so above the suite's 10-minute limit per test.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]
REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN = {"max_steps": 20, "checkpoint_every": 10, "eval_every": 10, "log_every": 5}
RAY_STATE = """
import json, sys
from ray.util.state import list_actors, list_nodes, list_tasks

address = sys.argv[1]
nodes = {node.node_id: node.node_name for node in list_nodes(address=address)}
tasks = [(nodes.get(task.node_id), task.name) for task in list_tasks(address=address, limit=10000)]
actors = [(nodes.get(actor.node_id), actor.class_name) for actor in list_actors(address=address, limit=10000)]
print("RESULT " + json.dumps({"tasks": tasks, "actors": actors}))
"""
SPARK_STRANGER = """
import sys
from pipeline.spark.session import build_session
from pipeline.services.config import SparkConfig

spark = build_session(SparkConfig(master=sys.argv[1], app_name="stranger", driver_memory="512m"))
print("RESULT", spark.sparkContext.parallelize(range(10), 2).sum())
"""


def why_not() -> str | None:
    if (reason := netns_available()) is not None:
        return reason
    if (reason := postgres_unavailable()) is not None:
        return reason
    if set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()) & {
        f"wt-{name}" for name in HOSTS
    }:
        return "a CLUSTER=netns cluster is running here (make cluster-down)"
    return None


@pytest.fixture(scope="module")
def demo() -> Iterator[dict[str, Any]]:
    """The cluster up, the deployment run to the end on it, and the same data stages run embedded beside it."""
    if (reason := why_not()) is not None:
        pytest.skip(f"the cluster demo runs in network namespaces: {reason}")
    folder = Path(tempfile.mkdtemp(prefix="wtc-"))  # short: Ray's socket paths under it stay < 108 bytes
    folder.chmod(0o755)  # PostgreSQL runs as its own user and must pass through
    overrides = {**DEMO_RUN.overrides, "train": TRAIN}
    spec = RunSpec(data_root=folder / "run", sample_dir=folder / "sample", overrides=overrides)
    try:
        state = up(folder / "cluster", "netns", spec)
        run_deployment(state, deploy(state))
        yield {"state": state, "spec": spec, "embedded": run_embedded(folder, spec)}
    finally:
        down(folder / "cluster")
        shutil.rmtree(folder, ignore_errors=True)


def run_embedded(folder: Path, spec: RunSpec) -> Path:
    """The demo's data stages on the embedded defaults (local Spark, Prefect's process pool) into ``embedded/``."""
    config = run_config({}, RunSpec(folder / "embedded", spec.sample_dir, spec.overrides))
    path = folder / "embedded.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    settings = {"PREFECT_HOME": str(folder / "prefect-home"), "PREFECT_UI_ENABLED": "false"}
    with local_prefect_server(env=settings, log_path=folder / "prefect-server.log") as api_url:
        env = {**os.environ, **settings, "PREFECT_API_URL": api_url}
        command = [sys.executable, "-m", "flows.webtext", "--config", str(path), "--stages", "data"]
        result = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return folder / "embedded"


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
        return json.load(response)


def post_status(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=b"{}", headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def client(demo: dict[str, Any]) -> dict[str, str]:
    return cluster_environment(demo["state"])


def test_the_pools_worker_ran_the_flow_run(demo: dict[str, Any]) -> None:
    env = client(demo)
    auth = basic(env["PREFECT_API_AUTH_STRING"])
    request = urllib.request.Request(
        f"{env['PREFECT_API_URL']}/flow_runs/filter",
        data=json.dumps({"flows": {"name": {"any_": ["webtext"]}}}).encode(),
        headers={"Content-Type": "application/json", **auth},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        (run,) = json.load(response)
    assert run["state_type"] == "COMPLETED" and run["work_pool_name"] == "webtext", run
    assert run["parameters"]["config_path"] == demo["state"]["run_config"]


def test_spark_ran_dedup_with_executors_on_both_workers(demo: dict[str, Any]) -> None:
    spark = demo["state"]["spark"]
    master = get_json(f"{spark['ui']}/json/")
    assert [app["state"] for app in master["completedapps"]] and all(
        app["state"] == "FINISHED" for app in master["completedapps"]
    ), master["completedapps"]
    for worker in spark["workers"]:
        assert get_json(f"{worker}/json/")["finishedexecutors"], f"no executor ran on {worker}"


def test_ray_ran_shard_tasks_and_a_training_worker_on_the_worker_node(demo: dict[str, Any], tmp_path: Path) -> None:
    env = ray_strangers.holder_environment(tmp_path / "home", Path(client(demo)["RAY_AUTH_TOKEN_PATH"]))
    result = subprocess.run(
        [sys.executable, "-c", RAY_STATE, demo["state"]["ray"]["dashboard"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    state = json.loads(line.removeprefix("RESULT "))
    on_worker = [name for node, name in state["tasks"] if node == "ray-worker-1"]
    assert any(name.endswith("_shard") for name in on_worker), state["tasks"]  # extract_shard, filter_shard, ...
    assert ["ray-worker-1", "RayTrainWorker"] in state["actors"], state["actors"]


def test_mlflow_serves_both_sizes_metrics(demo: dict[str, Any]) -> None:
    env = client(demo)
    auth = basic(f"{env['MLFLOW_TRACKING_USERNAME']}:{env['MLFLOW_TRACKING_PASSWORD']}")
    uri = env["MLFLOW_TRACKING_URI"]
    experiment = get_json(f"{uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=webtext", auth)
    body = json.dumps({"experiment_ids": [experiment["experiment"]["experiment_id"]], "max_results": 100}).encode()
    request = urllib.request.Request(
        f"{uri}/api/2.0/mlflow/runs/search", data=body, headers={"Content-Type": "application/json", **auth}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        runs = json.load(response)["runs"]
    accuracy = {}
    for run in runs:
        tags = {tag["key"]: tag["value"] for tag in run["data"].get("tags", [])}
        metrics = {metric["key"]: metric["value"] for metric in run["data"].get("metrics", [])}
        if "lambada_acc" in metrics or "sample_lambada_acc" in metrics:
            accuracy[tags.get("model_size")] = metrics
    assert {"tiny", "mini"} <= set(accuracy), accuracy
    assert all(run["info"]["status"] == "FINISHED" for run in runs)


def token_files(data_root: Path) -> dict[str, bytes]:
    tokens = data_root / "tokens"
    return {
        str(path.relative_to(tokens)): path.read_bytes()
        for path in sorted(tokens.rglob("*"))
        if path.suffix in (".bin", ".idx") or path.parent.name == "tokenizer"
    }


def documents(data_root: Path) -> dict[str, str]:
    rows = [
        row
        for shard in sorted((data_root / "corpus").glob("part-*.parquet"))
        for row in pq.read_table(shard, columns=["id", "text"]).to_pylist()
    ]
    return {row["id"]: row["text"] for row in rows}


def test_the_tokens_and_documents_equal_the_embedded_runs(demo: dict[str, Any]) -> None:
    cluster_run, embedded = demo["spec"].data_root, demo["embedded"]
    assert documents(cluster_run) == documents(embedded) and documents(embedded)
    assert token_files(cluster_run) == token_files(embedded) and token_files(embedded)


def test_strangers_are_refused_by_every_service(demo: dict[str, Any], tmp_path: Path) -> None:
    env, state = client(demo), demo["state"]
    ray_strangers.assert_only_token_holders_run_tasks(
        state["ray_gcs_address"], Path(env["RAY_AUTH_TOKEN_PATH"]), tmp_path
    )
    assert post_status(f"{env['PREFECT_API_URL']}/flow_runs/filter", {}) == 401
    assert post_status(f"{env['PREFECT_API_URL']}/flow_runs/filter", basic("webtext:wrong")) == 401
    assert post_status(f"{env['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/runs/search", {}) == 401
    assert_spark_refuses_a_stranger(state, tmp_path)


def assert_spark_refuses_a_stranger(state: dict[str, Any], tmp_path: Path) -> None:
    """A driver without the secret gets no result: the master refuses its unauthenticated messages (SASL)."""
    log = Path(state["env_file"]).parent / "logs" / "spark-master.log"
    seen = log.read_text(encoding="utf-8", errors="replace").count("Expected SaslMessage")
    root_address = state["hosts"]["root"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SPARK_LOCAL_IP": root_address}
    stranger = subprocess.Popen(
        [sys.executable, "-c", SPARK_STRANGER, state["spark_master_url"]],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while log.read_text(encoding="utf-8", errors="replace").count("Expected SaslMessage") <= seen:
            assert time.monotonic() < deadline and stranger.poll() is None, "the master never saw the stranger"
            time.sleep(0.5)
    finally:
        os.killpg(stranger.pid, signal.SIGKILL)
        output = stranger.communicate(timeout=30)[0]
    assert "RESULT" not in output, output[-3000:]
    master = get_json(f"{state['spark']['ui']}/json/")
    assert "stranger" not in [app["name"] for app in master["activeapps"] + master["completedapps"]]
