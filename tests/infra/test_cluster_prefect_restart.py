"""The Prefect server restarted in the middle of a flow run: the run finishes, or a rerun does, and finished work
is not redone.

PostgreSQL, the Prefect server (auth string) and the ``webtext`` pool's process worker, as ``make cluster`` starts
them, with the ``webtext-build`` deployment registered as ``make cluster-demo`` registers it. Its flow run does the
demo's first data stages on the embedded engines (local Spark, Prefect's process pool): this test is about the
orchestrator, not the engines. Once extract has finished, the server is stopped (SIGTERM, its whole process group)
and started again on the same port and database. The flow run then completes; if it ended otherwise while the
server was away, a second run of the deployment must complete. Either way the shards written before the restart
are the same files afterwards (inode and modification time): nothing finished was done again.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cluster import prefect_mlflow as services
from infra.cluster.demo import deploy
from infra.cluster.outputs import RunSpec, run_config, write_env_file
from infra.cluster.postgres import Database, postgres_unavailable, start_postgres
from infra.cluster.supervisor import Cluster, Host, http_answers

ROOT = Path(__file__).resolve().parents[2]
HEAD = Host("head", "127.0.0.1")
STAGES = ["harvest", "fetch", "extract", "dedup", "filter"]
FINISHED_BEFORE = ("urls", "fetch", "docs/extracted")  # the folders of harvest, fetch and extract
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
RUN_TIMEOUT_S = 600

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(postgres_unavailable() is not None, reason=postgres_unavailable() or ""),
]


def test_a_flow_run_outlives_a_restart_of_the_prefect_server(cluster_root: Path) -> None:
    secrets = cluster_root / "secrets"
    cluster = Cluster(cluster_root)
    database = start_postgres(
        cluster,
        HEAD,
        cluster.port(HEAD),
        [Database("prefect", secrets / "prefect_postgres_password", ("prefect",))],
        ["127.0.0.1/32"],
    )
    port = cluster.port(HEAD)
    api_url = services.start_prefect_server(cluster, HEAD, port, database, secrets)
    services.create_work_pool(api_url, secrets)
    services.start_prefect_worker(cluster, HEAD, api_url, secrets, {"SPARK_LOCAL_IP": "127.0.0.1"}, ROOT)
    auth = services.basic_auth(auth_string(secrets))
    data_root = cluster_root / "run"
    config = run_config({}, RunSpec(data_root=data_root, sample_dir=cluster_root / "sample")) | {"stages": STAGES}
    config_path = cluster_root / "run.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env_file = write_env_file(
        cluster_root, {"PREFECT_API_URL": api_url, "PREFECT_API_AUTH_STRING": auth_string(secrets)}
    )
    deployment = deploy({"run_config": str(config_path), "env_file": str(env_file)})

    first = create_flow_run(api_url, auth, deployment, str(config_path))
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not (data_root / "docs" / "extracted" / "summary.json").is_file():
        assert flow_run(api_url, auth, first)["state_type"] not in TERMINAL, flow_run(api_url, auth, first)
        assert time.monotonic() < deadline, "extract did not finish in time"
        time.sleep(0.5)
    before = files(data_root)
    assert flow_run(api_url, auth, first)["state_type"] == "RUNNING"

    os.killpg(cluster.pid(f"prefect-server-{HEAD.name}"), signal.SIGTERM)
    while http_answers(f"{api_url}/health"):
        time.sleep(0.2)
    services.start_prefect_server(cluster, HEAD, port, database, secrets)

    runs = [wait_until_terminal(api_url, auth, first)]
    if runs[0]["state_type"] != "COMPLETED":  # it ended while the server was away: run again, as a user would
        runs.append(wait_until_terminal(api_url, auth, create_flow_run(api_url, auth, deployment, str(config_path))))
    assert runs[-1]["state_type"] == "COMPLETED", runs
    assert all(run["work_pool_name"] == "webtext" for run in runs), runs
    after = files(data_root)
    redone = {path: stamp for path, stamp in before.items() if after.get(path) != stamp}
    assert not redone, f"finished shards written again after the restart: {sorted(redone)}"
    assert (data_root / "docs" / "filtered" / "summary.json").is_file()


def auth_string(secrets: Path) -> str:
    return services.read_secret(secrets, "prefect_auth_string")


def files(data_root: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every shard and summary of the stages that had finished."""
    stamps = {}
    for folder in FINISHED_BEFORE:
        for path in sorted((data_root / folder).rglob("*")):
            if path.is_file() and path.suffix in (".parquet", ".gz", ".json") and "summary" not in path.name:
                stat = path.stat()
                stamps[str(path.relative_to(data_root))] = (stat.st_ino, stat.st_mtime_ns)
    assert stamps, f"nothing finished under {data_root}"
    return stamps


def create_flow_run(api_url: str, auth: dict[str, str], deployment: str, config_path: str) -> str:
    flow, name = deployment.split("/")
    status, found = services.request_json(f"{api_url}/deployments/name/{flow}/{name}", auth)
    assert status == 200, found
    body = {"parameters": {"config_path": config_path, "stages": STAGES}}
    status, run = services.request_json(f"{api_url}/deployments/{found['id']}/create_flow_run", auth, body)
    assert status == 201, run
    return run["id"]


def flow_run(api_url: str, auth: dict[str, str], run_id: str) -> dict[str, Any]:
    status, run = services.request_json(f"{api_url}/flow_runs/{run_id}", auth)
    assert status == 200, run
    return run


def wait_until_terminal(api_url: str, auth: dict[str, str], run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while (run := flow_run(api_url, auth, run_id))["state_type"] not in TERMINAL:
        assert time.monotonic() < deadline, f"flow run {run_id} still {run['state_type']} after {RUN_TIMEOUT_S} s"
        time.sleep(1)
    return run
