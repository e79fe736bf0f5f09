"""Spark standalone and Ray as plain processes of the cluster, each asking for its shared credential.

Spark: a master and one worker per host, all with ``spark.authenticate``. Spark standalone takes the
secret from ``spark.authenticate.secret`` only, so it goes into a spark-defaults.conf of the cluster's
own (mode 0600 in a 0700 folder, the daemons' ``SPARK_CONF_DIR``), never onto a command line that
``ps`` shows; the web UIs are read-only, as ``infra/spark/spark-auth.sh`` makes them in Docker.

Ray: a head (GCS, Ray Client server, dashboard) and one worker node per host, with token
authentication on every node (``RAY_AUTH_MODE=token``, the token read from its file by Ray itself).
Ray's temporary folder (sessions, logs, sockets, the ``ray_current_cluster`` record) lies under the
cluster's folder (``RAY_TMPDIR``): nothing lands in /tmp/ray, and no later ``ray.init()`` on this
machine mistakes this cluster for its own after it is stopped.

Readiness is what a client needs, not an open port: the master's ``/json`` lists every worker ALIVE;
Ray's dashboard, asked with the token, lists every node ALIVE.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.cluster.supervisor import Cluster, ClusterError, Host, port_open

SPARK_READY_TIMEOUT_S = 90.0
RAY_HEAD_TIMEOUT_S = 120.0
RAY_WORKER_TIMEOUT_S = 120.0
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
# Read-only web UIs: no kill links, no decommissioning from the master's page, no REST submissions.
SPARK_READ_ONLY_UI = {
    "spark.ui.killEnabled": "false",
    "spark.master.ui.decommission.allow.mode": "DENY",
    "spark.master.rest.enabled": "false",
}
# Ray's longest socket: RAY_TMPDIR/ray/session_<date>_<time>_<micros>_<pid>/sockets/plasma_store.<n>;
# AF_UNIX paths end at 107 bytes, so RAY_TMPDIR gets what the rest leaves (pids up to 7 digits, n < 100).
RAY_SOCKET_SUFFIX = len("/ray/session_2026-01-01_00-00-00_000000_4194304/sockets/plasma_store.99")
UNIX_SOCKET_MAX = 107
# Ray's switch that makes its processes take loopback for their own address (see ray_environment).
LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# `ray start` on a loopback address. The switch above also stops a worker node's `ray start` ("multi-node
# clusters are not supported"): this one process keeps multi-node on and takes its addresses as given.
LOOPBACK_RAY_START = """
import sys
from ray._private import ray_constants, services
from ray.scripts.scripts import main
ray_constants.ENABLE_RAY_CLUSTER = True
services.resolve_ip_for_localhost = lambda host: host
sys.argv[0] = "ray"
sys.exit(main())
"""
# Inherited variables that would point a node at another cluster or another token.
RAY_FOREIGN_VARIABLES = ("RAY_ADDRESS", "RAY_AUTH_TOKEN")


# --- Spark ---


def start_spark(
    cluster: Cluster,
    master: Host,
    workers: list[Host],
    port: int,
    webui_port: int,
    secret_file: Path,
    worker_cores: int = 1,
    worker_memory: str = "2g",
) -> tuple[str, str]:
    """A Spark standalone master on ``master.address:port`` (read-only web UI on ``webui_port``) and one worker
    per host, all holding the secret of ``secret_file``; returns (``spark://HOST:PORT``, ``http://HOST:WEBUI``)
    once the master lists every worker ALIVE."""
    conf_dir = write_spark_conf(cluster, secret_file)
    url, ui = f"spark://{master.address}:{port}", f"http://{master.address}:{webui_port}"
    argv = [str(spark_class()), MASTER_CLASS, "--host", master.address, "--port", str(port)]
    process = cluster.start(
        "spark-master",
        [*argv, "--webui-port", str(webui_port)],
        host=master,
        env=spark_environment(cluster, master, conf_dir),
    )
    cluster.wait("spark-master", lambda: master_alive(ui), SPARK_READY_TIMEOUT_S, process)
    started = []
    for number, host in enumerate(workers, start=1):  # all at once: the JVMs start in parallel
        name, worker_ui = f"spark-worker-{number}", f"http://{host.address}:{cluster.port(host)}"
        argv = worker_command(cluster, name, host, worker_ui, url, worker_cores, worker_memory)
        process = cluster.start(name, argv, host=host, env=spark_environment(cluster, host, conf_dir))
        started.append((name, worker_ui, process))
    for name, worker_ui, process in started:
        cluster.wait(name, lambda ui_url=worker_ui: worker_alive(ui, ui_url), SPARK_READY_TIMEOUT_S, process)
    cluster.remember(spark={"master": url, "ui": ui, "workers": [worker_ui for _, worker_ui, _ in started]})
    return url, ui


def spark_class() -> Path:
    """pyspark's own launcher: the pip package ships Spark's jars and ``bin/spark-class``."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise ClusterError("pyspark is not installed in this environment: it provides Spark's daemons")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ClusterError("java not found: Spark's master and workers are JVMs (install Java 17, or set JAVA_HOME)")
    return Path(spec.origin).parent / "bin" / "spark-class"


def write_spark_conf(cluster: Cluster, secret_file: Path) -> Path:
    """The daemons' SPARK_CONF_DIR: spark-defaults.conf with the secret and the read-only UI settings.

    Private from the first byte (folder 0700, file 0600): the cluster's folder itself is 0755.
    """
    secret = read_secret(secret_file, "Spark")
    folder = cluster.root / "spark" / "conf"
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    settings = {"spark.authenticate": "true", "spark.authenticate.secret": secret, **SPARK_READ_ONLY_UI}
    path = folder / "spark-defaults.conf"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("".join(f"{key} {value}\n" for key, value in settings.items()))
    path.chmod(0o600)  # a file left by an earlier run keeps its mode through O_TRUNC
    return folder


def read_secret(path: Path, service: str) -> str:
    """The secret in ``path``, refused when missing, empty or readable by other users (as Ray refuses its token)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ClusterError(f"the {service} secret {path} is missing (make it with infra/make-secrets.sh)") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ClusterError(f"the {service} secret {path} is readable by other users: chmod 600 {path}")
    secret = path.read_text(encoding="utf-8").strip()
    if not secret:
        raise ClusterError(f"the {service} secret {path} is empty")
    return secret


def spark_environment(cluster: Cluster, host: Host, conf_dir: Path) -> dict[str, str]:
    """A daemon's environment: its private configuration, its address (which the web UI binds to) and scratch
    folders under the cluster's, so executors' files go where ``stop`` and a cleanup find them."""
    scratch = cluster.root / "spark" / "local"
    scratch.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "SPARK_HOME": str(spark_class().parent.parent),
        "SPARK_CONF_DIR": str(conf_dir),
        "SPARK_LOCAL_IP": host.address,
        "SPARK_LOCAL_DIRS": str(scratch),
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
    }


def worker_command(
    cluster: Cluster, name: str, host: Host, ui_url: str, master_url: str, cores: int, memory: str
) -> list[str]:
    """A worker on ``host``: its own RPC port (free), its web UI on ``ui_url``'s port, a work dir of its own."""
    work_dir = cluster.root / "spark" / "work" / name
    work_dir.mkdir(parents=True, exist_ok=True)
    return [
        str(spark_class()),
        WORKER_CLASS,
        "--host",
        host.address,
        "--webui-port",
        ui_url.rsplit(":", 1)[1],
        "--cores",
        str(cores),
        "--memory",
        memory,
        "--work-dir",
        str(work_dir),
        master_url,
    ]


def master_status(ui: str) -> dict[str, Any] | None:
    """The master's ``/json`` status (workers, applications), or None while it does not answer."""
    try:
        with urllib.request.urlopen(f"{ui}/json/", timeout=5) as response:
            return json.load(response)
    except (OSError, urllib.error.URLError, ValueError):
        return None


def master_alive(ui: str) -> bool:
    """The master says ALIVE: it accepts workers and applications (a standby master says STANDBY)."""
    return (master_status(ui) or {}).get("status") == "ALIVE"


def worker_alive(master_ui: str, worker_ui: str) -> bool:
    """The master lists the worker whose web UI is ``worker_ui`` as ALIVE: it registered, with the secret."""
    workers = (master_status(master_ui) or {}).get("workers", [])
    return any(worker.get("webuiaddress") == worker_ui and worker.get("state") == "ALIVE" for worker in workers)


# --- Ray ---


def start_ray(
    cluster: Cluster,
    head: Host,
    workers: list[Host],
    gcs_port: int,
    client_port: int,
    dashboard_port: int,
    token_file: Path,
    cpus: int = 2,
    env: Mapping[str, str] | None = None,
    object_store_bytes: int | None = None,
) -> tuple[str, str]:
    """``ray start --head`` on ``head`` and ``ray start --address`` per worker host, token authentication on,
    ``env`` (credentials for the tasks that run there) in every node's environment; returns (the GCS
    ``HOST:PORT``, ``ray://HOST:CLIENT_PORT``) once the dashboard, asked with the token, lists every node ALIVE.

    ``object_store_bytes``: each node's object store (Ray's default, 30% of the memory, adds up when several
    nodes share one machine).
    """
    token = read_secret(token_file, "Ray token")
    temp_dir = ray_temp_dir(cluster)
    cluster.remember(ray={"temp_dir": str(temp_dir)})  # before any node: stop and a rerun find a fallback folder
    gcs, dashboard = f"{head.address}:{gcs_port}", f"http://{head.address}:{dashboard_port}"
    argv = [
        *ray_node_command("ray-head", head, cpus, object_store_bytes, cluster.port(head)),
        "--head",
        f"--port={gcs_port}",
        f"--ray-client-server-port={client_port}",
        "--include-dashboard=true",
        f"--dashboard-host={head.address}",
        f"--dashboard-port={dashboard_port}",
    ]
    process = cluster.start("ray-head", argv, host=head, env=ray_environment(head, token_file, temp_dir, env or {}))

    def head_ready() -> bool:
        return port_open(head.address, client_port) and ray_node_alive(dashboard, token, "ray-head", head)

    cluster.wait("ray-head", head_ready, RAY_HEAD_TIMEOUT_S, process)
    client = f"ray://{head.address}:{client_port}"
    cluster.remember(ray={"gcs": gcs, "client": client, "dashboard": dashboard, "temp_dir": str(temp_dir)})
    node = RayNode(cpus, dict(env or {}), object_store_bytes)
    started = [(f"ray-worker-{number}", host) for number, host in enumerate(workers, start=1)]
    processes = [start_ray_worker(cluster, name, host, token_file, node) for name, host in started]  # in parallel
    for (name, host), process in zip(started, processes, strict=True):
        wait_ray_worker(cluster, name, host, token, process)
    return gcs, client


@dataclasses.dataclass(frozen=True, slots=True)
class RayNode:
    """What every worker node of the cluster gets: CPUs, environment, object store size."""

    cpus: int
    env: dict[str, str]
    object_store_bytes: int | None


def start_ray_worker(cluster: Cluster, name: str, host: Host, token_file: Path, node: RayNode) -> subprocess.Popen:
    """``ray start --address`` of a worker node ``name`` on ``host``, joining the head ``start_ray`` recorded."""
    argv = [*ray_node_command(name, host, node.cpus, node.object_store_bytes, cluster.port(host))]
    argv.append(f"--address={cluster.state['ray']['gcs']}")
    environment = ray_environment(host, token_file, ray_temp_dir(cluster), node.env)
    return cluster.start(name, argv, host=host, env=environment)


def wait_ray_worker(cluster: Cluster, name: str, host: Host, token: str, process: subprocess.Popen | None) -> None:
    dashboard = cluster.state["ray"]["dashboard"]
    ready = functools.partial(ray_node_alive, dashboard, token, name, host)
    cluster.wait(name, ready, RAY_WORKER_TIMEOUT_S, process)


def join_ray_worker(cluster: Cluster, name: str, host: Host, token_file: Path, node: RayNode) -> None:
    """Start the worker node ``name`` again (after it died, or was killed), as ``start_ray`` started it with
    ``node``'s settings; return once the head lists it ALIVE: the capacity a Ray Train run waits for when a node
    is lost. (``node.env`` holds credentials: never in state.json.)"""
    process = start_ray_worker(cluster, name, host, token_file, node)
    wait_ray_worker(cluster, name, host, read_secret(token_file, "Ray token"), process)


def ray_environment(host: Host, token_file: Path, temp_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """A node's environment: ``extra`` first, then the settings no caller may turn off (the token's mode and
    file, no usage stats, Ray's temporary folder under the cluster's). A node stops at once on SIGTERM unless
    ``extra`` says otherwise (Ray's drain before shutdown waits for Serve replicas, which this cluster has none of).

    On a loopback address, every Ray process of the node must take 127.0.0.1 as its own address: by default
    Ray swaps loopback for the machine's network address (its drivers, Ray Client servers and the
    ``ray start`` CLI alike), which would advertise, and send the cluster's traffic to, an address the
    cluster was not given. Ray's switch for that is named after Windows and macOS, where it is the default.
    """
    inherited = {key: value for key, value in os.environ.items() if key not in RAY_FOREIGN_VARIABLES}
    loopback = {LOOPBACK_SWITCH: "0"} if is_loopback(host.address) else {}
    # Ray Train's gloo binds the address the host name resolves to (loopback, in a namespace): name the interface
    interface = {"GLOO_SOCKET_IFNAME": host.interface} if host.interface else {}
    return {
        **inherited,
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
        **extra,
        **loopback,
        **interface,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token_file.resolve()),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_TMPDIR": str(temp_dir),
    }


def is_loopback(address: str) -> bool:
    return address in ("127.0.0.1", "::1", "localhost")


def ray_temp_dir(cluster: Cluster) -> Path:
    """``ROOT/ray`` when Ray's socket paths fit under it, else a short folder of /tmp (remembered in the state):
    never /tmp/ray, which every Ray on the machine shares."""
    folder = cluster.root / "ray"
    if len(str(folder)) + RAY_SOCKET_SUFFIX > UNIX_SOCKET_MAX:
        recorded = cluster.state.get("ray", {}).get("temp_dir")
        folder = Path(recorded) if recorded else Path(tempfile.mkdtemp(prefix="webtext-ray-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ray_node_command(name: str, host: Host, cpus: int, object_store_bytes: int | None, agent_port: int) -> list[str]:
    """``ray start --block`` for one node, named ``name`` (how readiness finds it) at ``host``'s address.

    The dashboard agent's HTTP port is free per node: Ray's fixed default clashes when nodes share a host.
    """
    # this environment's Ray (Ray Client wants the same Ray and Python on both sides)
    ray = (
        [sys.executable, "-c", LOOPBACK_RAY_START]
        if is_loopback(host.address)
        else [str(Path(sys.executable).parent / "ray")]
    )
    argv = [
        *ray,
        "start",
        "--block",
        f"--node-ip-address={host.address}",
        f"--node-name={name}",
        f"--num-cpus={cpus}",
        f"--dashboard-agent-listen-port={agent_port}",
        "--disable-usage-stats",
    ]
    return [*argv, f"--object-store-memory={object_store_bytes}"] if object_store_bytes else argv


def ray_node_alive(dashboard: str, token: str, name: str, host: Host) -> bool:
    """Ray lists the node ``name`` ALIVE at ``host``'s address (not at an address Ray picked instead)."""
    return alive_ray_nodes(dashboard, token).get(name) == host.address


def alive_ray_nodes(dashboard: str, token: str) -> dict[str, str]:
    """Name -> address of the nodes Ray's state API lists ALIVE, asked with the token (empty while it does not
    answer)."""
    request = urllib.request.Request(
        f"{dashboard}/api/v0/nodes?limit=1000", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            listing = json.load(response)
    except (OSError, urllib.error.URLError, ValueError):
        return {}
    nodes = listing.get("data", {}).get("result", {}).get("result", [])
    return {node.get("node_name", ""): node.get("node_ip", "") for node in nodes if node.get("state") == "ALIVE"}
