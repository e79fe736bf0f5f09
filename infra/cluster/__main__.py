"""``python -m infra.cluster up|down|status``: what ``make cluster`` and ``make cluster-down`` run.

``up`` starts, in this order: PostgreSQL, the Prefect server (auth string) and its ``webtext`` work pool,
the MLflow tracking server (basic auth, proxied artifacts), a Spark standalone master with two workers
(``spark.authenticate``), a Ray head and a worker node (token authentication), then writes
``cluster.env`` and ``run.yaml`` and starts the Prefect process worker that runs the flow. A service that
fails to start stops everything started before it, and its log's tail is shown. ``down`` stops every
process of the cluster and returns once all are gone.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.cluster.demo import deploy, run_deployment
from infra.cluster.netns import Network, create_hosts, netns_available, remove_hosts
from infra.cluster.outputs import DEMO_RUN, REPO_ROOT, RunSpec, write_env_file, write_run_config
from infra.cluster.postgres import Database, start_postgres
from infra.cluster.prefect_mlflow import (
    MLFLOW_USER,
    create_work_pool,
    read_secret,
    start_mlflow,
    start_prefect_server,
    start_prefect_worker,
)
from infra.cluster.spark_ray import start_ray, start_spark
from infra.cluster.supervisor import Cluster, ClusterError, Host, read_state, stop

DEFAULT_ROOT = REPO_ROOT / "build" / "cluster"
MAKE_SECRETS = REPO_ROOT / "infra" / "make-secrets.sh"


def local_hosts() -> dict[str, Host]:
    """``CLUSTER=local``: every host is this machine's loopback, for users without root."""
    return {name: Host(name, "127.0.0.1") for name in ("head", "w1", "w2", "flow", "root")}


def up(root: Path, mode: str = "local", run: RunSpec = DEMO_RUN) -> dict[str, Any]:
    """Start the whole cluster at ``root`` (``mode``: local or netns) and write its ``run.yaml`` for ``run``;
    returns what ``state.json`` records."""
    cluster = Cluster(root)
    running = [_alive(entry["pid"]) for entry in cluster.state.get("processes", [])]
    if running and all(running) and cluster.state.get("env_file") and cluster.state.get("mode") == mode:
        return cluster.state  # already up: make cluster is idempotent
    if any(running) or cluster.state.get("network"):
        raise ClusterError(f"part of a cluster is still there ({cluster.root}): make cluster-down first")
    cluster.state = {"processes": [], "mode": mode}
    secrets = cluster.root / "secrets"
    subprocess.run(["sh", str(MAKE_SECRETS), str(secrets)], check=True, stdout=subprocess.DEVNULL)
    try:
        if mode == "netns":
            if (reason := netns_available()) is not None:
                raise ClusterError(f"CLUSTER=netns: {reason} (CLUSTER=local runs without)")
            hosts, network = create_hosts()
            cluster.remember(network=dataclasses.asdict(network))  # before anything else: down removes it
        else:
            hosts = local_hosts()
        return _start_services(cluster, hosts, secrets, run)
    except BaseException:
        down(cluster.root)
        raise


def down(root: Path) -> list[str]:
    """Stop every process of the cluster at ``root``, then remove its namespaces and bridge; names what stopped."""
    state = read_state(root.resolve())
    stopped = stop(root)
    if state.get("network"):
        remove_hosts(Network(**state["network"]))
    return stopped


def _start_services(cluster: Cluster, hosts: dict[str, Host], secrets: Path, run: RunSpec) -> dict[str, Any]:
    head, workers = hosts["head"], [hosts["w1"], hosts["w2"]]
    networks = sorted({str(ipaddress.ip_network(f"{host.address}/24", strict=False)) for host in hosts.values()})
    databases = [
        Database("prefect", secrets / "prefect_postgres_password", ("prefect",)),
        Database("mlflow", secrets / "mlflow_postgres_password", ("mlflow", "mlflow_auth")),
    ]
    postgres = start_postgres(cluster, head, cluster.port(head), databases, networks)
    api_url = start_prefect_server(cluster, head, cluster.port(head), postgres, secrets)
    create_work_pool(api_url, secrets)
    tracking_uri = start_mlflow(cluster, head, cluster.port(head), postgres, secrets, cluster.root / "mlflow")
    client = {
        "PREFECT_API_URL": api_url,
        "PREFECT_API_AUTH_STRING": read_secret(secrets, "prefect_auth_string"),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_TRACKING_USERNAME": MLFLOW_USER,
        "MLFLOW_TRACKING_PASSWORD": read_secret(secrets, "mlflow_password"),
    }
    spark_url, spark_ui = start_spark(
        cluster, head, workers, cluster.port(head), cluster.port(head), secrets / "spark_secret"
    )
    ports = [cluster.port(head) for _ in range(3)]
    gcs, ray_client = start_ray(cluster, head, workers[:1], *ports, secrets / "ray_token", cpus=1, env=client)
    addresses = {
        **client,
        "RAY_ADDRESS": ray_client,
        "RAY_AUTH_TOKEN_PATH": str(secrets / "ray_token"),
        "SPARK_MASTER_URL": spark_url,
        "SPARK_MASTER_WEBUI_URL": spark_ui,
    }
    env_file = write_env_file(cluster.root, addresses)
    driver = hosts["flow"].address  # the flow's Spark driver: executors call back to its host (no hostname guessing)
    services = {
        "ray": {"address": ray_client, "token_file": str(secrets / "ray_token")},
        "spark": {
            "master": spark_url,
            "auth_secret_file": str(secrets / "spark_secret"),
            "shuffle_partitions": 4,
            "conf": {"spark.driver.host": driver, "spark.driver.bindAddress": driver},
        },
        "mlflow": {"tracking_uri": tracking_uri, "experiment": "webtext"},
        "task_runner": {"kind": "ray"},
    }
    run_yaml = write_run_config(cluster.root, services, run)
    worker_env = {**client, "RAY_AUTH_TOKEN_PATH": str(secrets / "ray_token"), "SPARK_LOCAL_IP": driver}
    start_prefect_worker(cluster, hosts["flow"], api_url, secrets, worker_env, REPO_ROOT)
    cluster.remember(
        postgres=postgres,
        prefect_api_url=api_url,
        mlflow_tracking_uri=tracking_uri,
        spark_master_url=spark_url,
        spark_webui_url=spark_ui,
        ray_gcs_address=gcs,
        ray_address=ray_client,
        env_file=str(env_file),
        run_config=str(run_yaml),
        hosts={name: host.address for name, host in hosts.items()},
    )
    return cluster.state


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}").exists()
    except OSError:
        return False


def describe(state: dict[str, Any]) -> str:
    """Where each service and UI is (no secrets: those are in cluster.env and secrets/)."""
    ui = state["prefect_api_url"].removesuffix("/api")
    return "\n".join(
        [
            f"Prefect UI    {ui}  (user:password: secrets/prefect_auth_string)",
            f"MLflow UI     {state['mlflow_tracking_uri']}  (user {MLFLOW_USER}, password: secrets/mlflow_password)",
            f"Spark master  {state['spark_webui_url']}  ({state['spark_master_url']})",
            f"Ray           {state['ray_address']}  (GCS {state['ray_gcs_address']}, token: secrets/ray_token)",
            f"clients       . {state['env_file']}",
            f"run config    {state['run_config']}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status", "demo"))
    parser.add_argument(
        "--mode",
        choices=("local", "netns"),
        default=os.environ.get("CLUSTER") or "local",
        help="local: every service on 127.0.0.1; netns: one network namespace per host (root) (default: $CLUSTER)",
    )
    parser.add_argument(
        "--root", type=Path, default=DEFAULT_ROOT, help=f"the cluster's folder (default: {DEFAULT_ROOT})"
    )
    args = parser.parse_args(argv)
    try:
        if args.command in ("up", "demo"):
            state = up(args.root, args.mode)
            if args.command == "demo":
                run_deployment(state, deploy(state))
            print(describe(state))
        elif args.command == "down":
            stopped = down(args.root)
            print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        else:
            state = read_state(args.root.resolve())
            print(describe(state) if state.get("env_file") else "no cluster is running")
    except ClusterError as error:
        print(f"make cluster: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
