"""`make cluster`'s Prefect and MLflow services, run for real on loopback: credentials asked, given, kept out of argv.

A throwaway cluster (PostgreSQL as the ``postgres`` user, the Prefect server, its process pool and worker, the
MLflow server with basic auth) in a folder under build/ that the ``postgres`` user can reach (pytest's tmp_path
sits under a 0700 folder), stopped and removed afterwards whatever happened.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from infra.cluster import prefect_mlflow as services
from infra.cluster.postgres import Database, postgres_unavailable, start_postgres
from infra.cluster.supervisor import Cluster, Host, free_port, marked_processes, stop

ROOT = Path(__file__).resolve().parents[2]
HEAD = Host("head", "127.0.0.1")


pytestmark = [
    pytest.mark.slow,  # make test-cluster: the cluster demo test in make test covers these services together
    pytest.mark.skipif(postgres_unavailable() is not None, reason=postgres_unavailable() or ""),
]


def start_services(root: Path) -> tuple[Cluster, str, str]:
    """PostgreSQL, the Prefect server, pool and worker, MLflow: what ``make cluster`` starts on the head."""
    secrets = root / "secrets"
    cluster = Cluster(root)
    databases = [
        Database("prefect", secrets / "prefect_postgres_password", ("prefect",)),
        Database("mlflow", secrets / "mlflow_postgres_password", ("mlflow", "mlflow_auth")),
    ]
    database = start_postgres(cluster, HEAD, free_port(), databases, ["127.0.0.1/32"])
    api_url = services.start_prefect_server(cluster, HEAD, free_port(), database, secrets)
    services.create_work_pool(api_url, secrets)
    services.create_work_pool(api_url, secrets)  # idempotent
    uri = services.start_mlflow(cluster, HEAD, free_port(), database, secrets, root / "artifacts")
    flow_env = {
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_TRACKING_USERNAME": services.MLFLOW_USER,
        "MLFLOW_TRACKING_PASSWORD": services.read_secret(secrets, "mlflow_password"),
    }
    services.start_prefect_worker(cluster, HEAD, api_url, secrets, flow_env, ROOT)
    return cluster, api_url, uri


def check_prefect(api_url: str, auth_string: str) -> None:
    no_auth: dict[str, str] = {}
    assert services.request_json(f"{api_url}/health", no_auth, method="GET")[0] == 200
    assert services.request_json(f"{api_url}/flows/filter", no_auth, {})[0] == 401
    assert services.request_json(f"{api_url}/flows/filter", services.basic_auth("webtext:wrong"), {})[0] == 401
    assert services.request_json(f"{api_url}/flows/filter", services.basic_auth(auth_string), {})[0] == 200
    status, pool = services.request_json(f"{api_url}/work_pools/webtext", services.basic_auth(auth_string))
    assert status == 200 and pool["type"] == "process"
    status, workers = services.request_json(
        f"{api_url}/work_pools/webtext/workers/filter", services.basic_auth(auth_string), {}
    )
    assert [(w["name"], w["status"]) for w in workers] == [("prefect-worker-head", "ONLINE")]


def check_mlflow(uri: str, password: str, artifact: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused without credentials or with a wrong password; with the admin's, a run with a metric and an artifact."""
    search = f"{uri}/api/2.0/mlflow/experiments/search?max_results=1"
    assert services.request_json(f"{uri}/health", {}, method="GET")[0] == 200
    assert services.request_json(search, {}, method="GET")[0] == 401
    assert services.request_json(search, services.basic_auth("webtext:wrong"), method="GET")[0] == 401
    from mlflow.tracking import MlflowClient  # no global tracking URI set: other tests keep theirs

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", services.MLFLOW_USER)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(client.create_experiment("cluster-services"))
    client.log_metric(run.info.run_id, "loss", 1.5)
    artifact.write_text("hello", encoding="utf-8")
    client.log_artifact(run.info.run_id, str(artifact))
    client.set_terminated(run.info.run_id)
    assert client.get_run(run.info.run_id).data.metrics == {"loss": 1.5}
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == [artifact.name]


def check_no_secret_in_argv(root: Path) -> None:
    values = [services.read_secret(root / "secrets", path.name) for path in (root / "secrets").iterdir()]
    for process in marked_processes(root):
        command = " ".join(process.cmdline())
        assert not any(value in command for value in values), f"a secret in the arguments of {process.pid}"


def check_worker_env(cluster: Cluster, api_url: str, uri: str) -> None:
    """The flow runs inherit the worker's environment: the API, its auth string and the MLflow credentials."""
    (pid,) = [entry["pid"] for entry in cluster.state["processes"] if entry["name"] == "prefect-worker-head"]
    environment = psutil.Process(pid).environ()
    assert environment["PREFECT_API_URL"] == api_url and environment["MLFLOW_TRACKING_URI"] == uri
    assert environment["PREFECT_API_AUTH_STRING"] and environment["MLFLOW_TRACKING_PASSWORD"]


def test_prefect_and_mlflow_ask_for_credentials(cluster_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = cluster_root / "secrets"
    cluster, api_url, uri = start_services(cluster_root)
    check_prefect(api_url, services.read_secret(secrets, "prefect_auth_string"))
    check_mlflow(uri, services.read_secret(secrets, "mlflow_password"), cluster_root / "note.txt", monkeypatch)
    check_worker_env(cluster, api_url, uri)
    check_no_secret_in_argv(cluster_root)
    assert (cluster_root / "mlflow" / "basic_auth.ini").stat().st_mode & 0o777 == 0o600
    assert cluster.state["prefect_api_url"] == api_url and cluster.state["mlflow_tracking_uri"] == uri
    stop(cluster_root)
    assert not list(marked_processes(cluster_root))
