"""The Prefect server and worker and the MLflow tracking server of the cluster, as plain processes.

The same services and credentials as infra/prefect and infra/mlflow's compose files, without Docker: each
server keeps its state in the cluster's PostgreSQL, asks for credentials on every request but its health
check, and takes every secret from the files of ``infra/make-secrets.sh`` through its environment (what
``infra/secrets-env.sh`` does for the containers), never through a command line that ``ps`` shows.
"""

from __future__ import annotations

import base64
import configparser
import datetime
import functools
import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.cluster.supervisor import Cluster, ClusterError, Host, http_answers

READY_TIMEOUT_S = 120.0  # a server's first start (migrations, imports) on two busy cores
MLFLOW_USER = "webtext"  # the admin the pipeline logs in as (MLFLOW_USERNAME's default in infra/mlflow)
AUTH_INI = Path(__file__).resolve().parents[1] / "mlflow" / "basic_auth.ini"
# Inherited settings that would point a server at another database than the one given here.
_FOREIGN_DATABASE_SETTINGS = ("PREFECT_SERVER_DATABASE_", "PREFECT_API_DATABASE_")


def read_secret(secrets: Path, name: str) -> str:
    """A secret file's content without the trailing newline an editor may add; an empty one is an error."""
    path = secrets / name
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise ClusterError(f"secret {path} is unreadable ({error}): make it with infra/make-secrets.sh") from error
    if not value:
        raise ClusterError(f"secret {path} is empty")
    return value


def tool(name: str) -> str:
    """A console script of this Python's environment (the virtualenv's ``prefect``, ``mlflow``), else PATH's."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        raise ClusterError(f"{name} not found beside {sys.executable} or on PATH")
    return found


def basic_auth(credentials: str) -> dict[str, str]:
    """The header Prefect's client sends for PREFECT_API_AUTH_STRING, and MLflow's for user:password."""
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")}


def request_json(url: str, headers: Mapping[str, str], body: Any = None, method: str | None = None) -> tuple[int, Any]:
    """One HTTP call: its status and decoded JSON body (None when not JSON); errors are statuses too."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **headers})
    if method:
        request.method = method
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, None


def base_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without database settings meant for another server, plus ``extra``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_DATABASE_SETTINGS)}
    return {**inherited, **extra}


def split_address(database: str) -> tuple[str, str]:
    host, _, port = database.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"database address {database!r} is not HOST:PORT")
    return host, port


# --- Prefect -------------------------------------------------------------------------------------------


def start_prefect_server(cluster: Cluster, host: Host, port: int, database: str, secrets: Path) -> str:
    """Prefect 3.8.8 server on host:port backed by PostgreSQL at database ("HOST:PORT", db and role "prefect",
    password secrets/prefect_postgres_password) requiring the auth string secrets/prefect_auth_string; returns
    the API URL (http://HOST:PORT/api) once /api/health answers.

    The database is given setting by setting (as infra/prefect's compose file does), so that its password
    lives in the environment only, never in a URL or an argument.
    """
    api_url = f"http://{host.address}:{port}/api"
    db_host, db_port = split_address(database)
    home = cluster.root / "prefect" / "server"
    home.mkdir(parents=True, exist_ok=True)
    auth_string = read_secret(secrets, "prefect_auth_string")
    env = base_env(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_API_AUTH_STRING": auth_string,
            "PREFECT_SERVER_DATABASE_DRIVER": "postgresql+asyncpg",
            "PREFECT_SERVER_DATABASE_HOST": db_host,
            "PREFECT_SERVER_DATABASE_PORT": db_port,
            "PREFECT_SERVER_DATABASE_USER": "prefect",
            "PREFECT_SERVER_DATABASE_NAME": "prefect",
            "PREFECT_SERVER_DATABASE_PASSWORD": read_secret(secrets, "prefect_postgres_password"),
            "PREFECT_SERVER_API_HOST": host.address,
            "PREFECT_SERVER_API_PORT": str(port),
            "PREFECT_UI_API_URL": api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            # anything in the server that calls its own API goes here, with the string
            "PREFECT_API_URL": api_url,
            "PREFECT_API_AUTH_STRING": auth_string,
        }
    )
    argv = [tool("prefect"), "server", "start", "--host", host.address, "--port", str(port)]
    name = f"prefect-server-{host.name}"
    process = cluster.start(name, argv, host=host, env=env, cwd=home)
    cluster.wait(name, lambda: http_answers(f"{api_url}/health"), READY_TIMEOUT_S, process)
    cluster.remember(prefect_api_url=api_url)
    return api_url


def create_work_pool(api_url: str, secrets: Path, name: str = "webtext") -> None:
    """A process work pool with Prefect's default job template; one that exists is kept as it is.

    Kept rather than overwritten: a template someone changed on the server survives ``make cluster`` again.
    """
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.workers.process import ProcessWorker

    pool = WorkPoolCreate(name=name, type="process", base_job_template=ProcessWorker.get_default_base_job_template())
    with SyncPrefectClient(api_url, auth_string=read_secret(secrets, "prefect_auth_string")) as client:
        try:
            client.create_work_pool(pool)
        except ObjectAlreadyExists:
            existing = client.read_work_pool(name)
            if existing.type != "process":
                raise ClusterError(f"work pool {name!r} exists with type {existing.type!r}, not 'process'") from None


def start_prefect_worker(
    cluster: Cluster,
    host: Host,
    api_url: str,
    secrets: Path,
    env: Mapping[str, str],
    cwd: Path,
    pool: str = "webtext",
) -> None:
    """`prefect worker start --pool webtext --type process` on host, sending PREFECT_API_AUTH_STRING; env: what
    the flow runs need (the caller passes MLflow credentials, RAY_AUTH_TOKEN_PATH, ...); cwd: the repository
    root (the flow runs from there). Returns once the server lists the worker as online for the pool.

    The flow runs are the worker's subprocesses and inherit its environment: that is how ``env`` reaches them.
    """
    name = f"prefect-worker-{host.name}"
    auth_string = read_secret(secrets, "prefect_auth_string")
    home = cluster.root / "prefect" / name
    home.mkdir(parents=True, exist_ok=True)
    environment = base_env(
        {
            "PREFECT_HOME": str(home),
            **env,
            "PREFECT_API_URL": api_url,
            "PREFECT_API_AUTH_STRING": auth_string,
        }
    )
    argv = [tool("prefect"), "worker", "start", "--pool", pool, "--type", "process", "--name", name]
    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    process = cluster.start(name, argv, host=host, env=environment, cwd=cwd)
    online = functools.partial(worker_online, api_url, auth_string, pool, name, started)
    cluster.wait(name, online, READY_TIMEOUT_S, process)


def worker_online(api_url: str, auth_string: str, pool: str, name: str, since: datetime.datetime) -> bool:
    """Whether the server lists ``name`` as ONLINE in ``pool`` with a heartbeat after ``since`` (this start's)."""
    try:
        status, workers = request_json(f"{api_url}/work_pools/{pool}/workers/filter", basic_auth(auth_string), {})
    except OSError:
        return False
    if status != 200 or not isinstance(workers, list):
        return False
    for worker in workers:
        if worker.get("name") == name and worker.get("status") == "ONLINE":
            heartbeat = datetime.datetime.fromisoformat(worker["last_heartbeat_time"])
            if heartbeat >= since:
                return True
    return False


# --- MLflow --------------------------------------------------------------------------------------------


def write_auth_config(folder: Path, database: str) -> Path:
    """infra/mlflow/basic_auth.ini's settings with the user store in ``database``/mlflow_auth, mode 0600.

    No password in it: libpq reads PGPASSWORD, the admin's comes from MLFLOW_AUTH_ADMIN_PASSWORD.
    """
    config = configparser.ConfigParser()
    config.read(AUTH_INI, encoding="utf-8")
    config["mlflow"]["database_uri"] = f"postgresql+psycopg2://mlflow@{database}/mlflow_auth"
    path = folder / "basic_auth.ini"
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(f"# Made by infra/cluster/prefect_mlflow.py from {AUTH_INI.name}; rewritten on every start.\n")
        config.write(file)
    return path


def start_mlflow(cluster: Cluster, host: Host, port: int, database: str, secrets: Path, artifacts: Path) -> str:
    """MLflow 3.17.2 tracking server with the basic-auth app (--app-name basic-auth), runs in PostgreSQL db
    "mlflow" and users in "mlflow_auth" (role "mlflow", password secrets/mlflow_postgres_password),
    --serve-artifacts into `artifacts`, --workers 1, admin user "webtext" with password secrets/mlflow_password;
    returns the tracking URI once /health answers and an authenticated API call works.

    MLflow creates the admin from MLFLOW_AUTH_ADMIN_* on its first start only; later starts keep the stored
    password, so a rotated secrets/mlflow_password without the user's password changed fails the last check.
    """
    split_address(database)
    uri = f"http://{host.address}:{port}"
    folder = cluster.root / "mlflow"
    folder.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    password = read_secret(secrets, "mlflow_password")
    addresses = [host.address, "localhost", "127.0.0.1"]
    env = base_env(
        {
            "MLFLOW_AUTH_CONFIG_PATH": str(write_auth_config(folder, database)),
            "MLFLOW_AUTH_ADMIN_USERNAME": MLFLOW_USER,
            "MLFLOW_AUTH_ADMIN_PASSWORD": password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": read_secret(secrets, "mlflow_flask_secret_key"),
            "PGPASSWORD": read_secret(secrets, "mlflow_postgres_password"),
            "MLFLOW_SERVER_ALLOWED_HOSTS": ",".join(a for address in addresses for a in (address, f"{address}:*")),
        }
    )
    argv = [
        *[tool("mlflow"), "server", "--app-name", "basic-auth", "--host", host.address, "--port", str(port)],
        *["--workers", "1", "--backend-store-uri", f"postgresql+psycopg2://mlflow@{database}/mlflow"],
        *["--artifacts-destination", str(artifacts.resolve()), "--serve-artifacts"],
    ]
    name = f"mlflow-{host.name}"
    process = cluster.start(name, argv, host=host, env=env, cwd=folder)
    cluster.wait(name, lambda: http_answers(f"{uri}/health"), READY_TIMEOUT_S, process)
    check_mlflow_login(uri, password)
    cluster.remember(mlflow_tracking_uri=uri)
    return uri


def check_mlflow_login(uri: str, password: str) -> None:
    """The admin logs in with the secret's password: a user store that kept an older one fails here, by name."""
    url = f"{uri}/api/2.0/mlflow/users/get?username={MLFLOW_USER}"
    status, _ = request_json(url, basic_auth(f"{MLFLOW_USER}:{password}"), method="GET")
    if status == 401:
        raise ClusterError(
            f"MLflow at {uri} refuses {MLFLOW_USER!r} with the password of mlflow_password: its user store "
            "keeps the password of its first start; change the user's password (docs/security.md, (C))"
        )
    if status != 200:
        raise ClusterError(f"MLflow at {uri}: an authenticated call answered {status}")
