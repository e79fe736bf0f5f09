"""`make cluster`'s compute engines, run for real on loopback: Spark standalone and Ray, each refusing strangers.

A Spark master with two workers and a Ray head with one worker node (infra/cluster/spark_ray.py), started as
processes of a throwaway cluster under build/. The drivers are fresh processes, as a flow's would be: the
one holding Spark's secret runs a job whose tasks run on both workers' executors; one without it gets no
application; Ray runs the token holder's tasks (by Ray Client and by the GCS address, on both nodes, with the
environment the cluster gave its nodes) and refuses a stranger with Ray's AuthenticationError. Every port
the cluster opens is on loopback, no secret is on a command line, and ``stop`` leaves no process behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import ray_strangers

from infra.cluster.spark_ray import LOOPBACK_SWITCH, master_status, start_ray, start_spark
from infra.cluster.supervisor import Cluster, Host, free_port, marked_processes, stop
from training.run import CLIENT_ATTEMPTS, client_server_failed

ROOT = Path(__file__).resolve().parents[2]
HEAD, W1, W2 = Host("head", "127.0.0.1"), Host("w1", "127.0.0.1"), Host("w2", "127.0.0.1")
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}
PROBE = "WEBTEXT_ENGINES_PROBE"  # a variable start_ray hands every node, as it hands credentials

# A Spark driver: argv = master URL, secret file ("" for none), application name. It waits for both executors
# (two cores in all) so that the four tasks spread; each reports its executor's working directory.
SPARK_DRIVER = """
import json, os, sys
from pipeline.spark.session import build_session
from pipeline.services.config import SparkConfig

conf = (
    ("spark.driver.host", "127.0.0.1"), ("spark.driver.bindAddress", "127.0.0.1"), ("spark.cores.max", "2"),
    ("spark.executor.memory", "512m"), ("spark.scheduler.minRegisteredResourcesRatio", "1.0"),
    ("spark.scheduler.maxRegisteredResourcesWaitingTime", "60s"),
)
master, secret_file, name = sys.argv[1:]
spark = build_session(
    SparkConfig(master=master, app_name=name, driver_memory="1g", auth_secret_file=secret_file or None, conf=conf)
)
cwds = spark.sparkContext.parallelize(range(100), 4).map(lambda x: os.getcwd()).collect()
print("RESULT " + json.dumps(sorted(set(cwds))))
spark.stop()
"""
RAY_DRIVER = f"""
import os, sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
alive = sum(node["Alive"] for node in ray.nodes())
print("RESULT", alive, ray.get(ray.remote(lambda: os.environ.get("{PROBE}")).remote(), timeout=60))
"""


def java_missing() -> str | None:
    return None if shutil.which("java") else "java not found: Spark's master and workers are JVMs (Java 17)"


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # make test-cluster: the cluster demo test in make test covers these engines together
    pytest.mark.skipif(java_missing() is not None, reason=java_missing() or ""),
]


def test_spark_and_ray_run_the_secret_holders_jobs_only(
    cluster_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = cluster_root / "secrets"
    cluster = Cluster(cluster_root)
    spark_url, spark_ui = start_spark(cluster, HEAD, [W1, W2], free_port(), free_port(), secrets / "spark_secret")
    gcs, client = start_ray(
        cluster,
        HEAD,
        [W1],
        free_port(),
        free_port(),
        free_port(),
        secrets / "ray_token",
        cpus=1,
        env={PROBE: "given"},
        object_store_bytes=200_000_000,
    )
    check_spark(cluster, spark_url, spark_ui, secrets / "spark_secret")
    check_ray(gcs, client, secrets / "ray_token", monkeypatch, tmp_path, cluster_root / "ray")
    check_locked_down(cluster_root, secrets)
    stopped = stop(cluster_root)
    assert set(stopped) == {"spark-master", "spark-worker-1", "spark-worker-2", "ray-head", "ray-worker-1"}
    assert not list(marked_processes(cluster_root))
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(cluster_root) in " ".join(p.info["cmdline"] or [])]


def check_spark(cluster: Cluster, url: str, ui: str, secret_file: Path) -> None:
    """The secret's holder runs a job on both workers and completes its application; a driver without it gets
    none: the master refuses its unauthenticated messages (SASL), and it is stopped before Spark gives up."""
    holder = run_driver([SPARK_DRIVER, url, str(secret_file), "holder"], timeout_s=240)
    assert holder.returncode == 0, holder.stderr[-3000:]
    work_dirs = {Path(cwd).parts[-3] for cwd in result_of(holder)}  # .../work/<worker>/<app>/<executor>
    assert work_dirs == {"spark-worker-1", "spark-worker-2"}, result_of(holder)
    assert [(app["name"], app["state"]) for app in master_status(ui)["completedapps"]] == [("holder", "FINISHED")]

    log = cluster.log_path("spark-master")
    stranger = subprocess.Popen(
        [sys.executable, "-c", SPARK_DRIVER, url, "", "stranger"],
        env=driver_environment(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "Expected SaslMessage" not in log.read_text(encoding="utf-8", errors="replace"):
            assert time.monotonic() < deadline and stranger.poll() is None, "the master never saw the stranger"
            time.sleep(0.5)
    finally:
        os.killpg(stranger.pid, signal.SIGKILL)
        output = stranger.communicate(timeout=30)[0]
    assert "RESULT" not in output, output[-3000:]
    status = master_status(ui)
    assert [app["name"] for app in status["activeapps"] + status["completedapps"]] == ["holder"]


def check_ray(
    gcs: str, client: str, token_file: Path, monkeypatch: pytest.MonkeyPatch, scratch: Path, ray_tmp: Path
) -> None:
    """Ray Client and the GCS address run the holder's tasks on two nodes that carry ``env``; a stranger at the
    GCS gets AuthenticationError. Drivers here take 127.0.0.1 as meant, as the cluster's own processes do
    (LOOPBACK_SWITCH; it gives no access)."""
    holder_env = {**ray_strangers.holder_environment(scratch / "holder", token_file), LOOPBACK_SWITCH: "0"}
    for address in (client, gcs):
        for _ in range(CLIENT_ATTEMPTS):  # a Ray flake seen under load (training.run): a new try gets a new server
            holder = run_driver([RAY_DRIVER, address], timeout_s=120, env=holder_env)
            if not client_server_failed(holder.stderr):
                break
        output = holder.stdout + holder.stderr[-3000:] + client_server_logs(ray_tmp)
        assert holder.returncode == 0 and "RESULT 2 given" in holder.stdout, output
    stranger_environment = ray_strangers.stranger_environment
    monkeypatch.setattr(
        ray_strangers, "stranger_environment", lambda home: {**stranger_environment(home), LOOPBACK_SWITCH: "0"}
    )
    ray_strangers.assert_only_token_holders_run_tasks(gcs, token_file, scratch)


def client_server_logs(ray_tmp: Path) -> str:
    """The tails of Ray Client's per-client servers' logs: why one did not start."""
    logs = sorted(ray_tmp.rglob("ray_client_server*.err"))
    return "".join(f"\n--- {log.name}:\n{log.read_text(errors='replace')[-2000:]}" for log in logs)


def check_locked_down(root: Path, secrets: Path) -> None:
    """Everything listens on loopback; the secrets are in private files, on no command line."""
    conf = root / "spark" / "conf"
    assert (conf.stat().st_mode & 0o777, (conf / "spark-defaults.conf").stat().st_mode & 0o777) == (0o700, 0o600)
    listening, command_lines = set(), []
    for process in marked_processes(root):
        with contextlib.suppress(psutil.NoSuchProcess):
            connections = process.net_connections(kind="inet")
            listening |= {(c.laddr.ip, process.name()) for c in connections if c.status == psutil.CONN_LISTEN}
            command_lines.append(" ".join(process.cmdline()))
    assert {"java", "raylet", "gcs_server"} <= {name for _, name in listening}, listening
    assert {ip for ip, _ in listening} <= LOOPBACK, listening
    for name in ("spark_secret", "ray_token"):
        assert (secrets / name).read_text(encoding="utf-8").strip() not in "\n".join(command_lines), name


def driver_environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "SPARK_LOCAL_IP": "127.0.0.1"}


def run_driver(argv: list[str], timeout_s: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", *argv],
        env=env or driver_environment(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def result_of(driver: subprocess.CompletedProcess) -> list[str]:
    (line,) = [line for line in driver.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))
