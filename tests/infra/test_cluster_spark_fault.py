"""A Spark worker lost during dedup: the application still finishes, with the output of a healthy run.

Issue 24 asks that a worker killed mid-run costs time, not results. The cluster is the one ``make
cluster`` starts (a standalone master and two one-core workers, spark.authenticate on, each daemon in a
process group of its own); the driver is a fresh process running the real dedup stage against it, as a
flow's would. Once both workers run an executor of the application, the first signatures task SIGKILLs
the process group of the worker it runs on, from inside its Python worker: the worker and its executor
JVM die together, the way a machine that drops off the network looks to the master and the driver.
Spark reruns the lost work on the other worker, which finishes the application alone.

Which worker that is, is Spark's choice (the task may land on either); the kill itself is not left to
timing. The output is compared byte for byte with local Spark's, as ``test_executor_loss`` does for
executors lost under a ``local-cluster`` master.
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
from pyspark.sql import SparkSession

DEDUP_TESTS = Path(__file__).resolve().parents[1] / "pipeline" / "dedup"
if str(DEDUP_TESTS) not in sys.path:  # the dedup tests' corpus and comparisons (as their own conftest does)
    sys.path.insert(0, str(DEDUP_TESTS))

from executor_loss_job import CONFIG  # noqa: E402
from test_executor_loss import chained_corpus, decision_rows, shard_hashes  # noqa: E402

from infra.cluster.spark_ray import master_status, start_spark  # noqa: E402
from infra.cluster.supervisor import Cluster, Host, free_port, marked_processes, stop  # noqa: E402
from pipeline.dedup.stage import run_dedup  # noqa: E402
from pipeline.shards import read_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HEAD, W1, W2 = Host("head", "127.0.0.1"), Host("w1", "127.0.0.1"), Host("w2", "127.0.0.1")
APP_NAME = "webtext-dedup-worker-loss"
WORKERS = ("spark-worker-1", "spark-worker-2")
DRIVER_TIMEOUT_S = 300
GONE_TIMEOUT_S = 30

# The driver: argv = master URL, secret file, application name, docs folder, output folder, report file, and
# JSON {worker name: its process group}. The first sketch task (an executor's working directory is
# WORK/<worker>/<app>/<executor>) records itself and kills its worker's group, then itself (pyspark's daemon
# and its workers have a group of their own). Both executors (two cores in all) are registered before the
# first job, so the other worker is up, with its executor, when that happens.
DRIVER = """
import dataclasses, json, os, signal, sys
from pathlib import Path

from executor_loss_job import CONFIG
from pyspark import TaskContext

import pipeline.dedup.spark.signatures as signatures
from pipeline.dedup.stage import run_dedup
from pipeline.services.config import SparkConfig

master, secret_file, name, docs, out, report, groups = sys.argv[1:]
marker, original, groups = Path(report).with_name("worker-kill.json"), signatures._sketch_batches, json.loads(groups)


def sketch_or_kill_the_worker(batches, **settings):
    worker = Path.cwd().parent.parent.name
    try:
        descriptor = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:  # already done: every other task, and the retry of the killed one
        yield from original(batches, **settings)
        return
    context = TaskContext.get()
    kill = {"worker": worker, "cwd": os.getcwd(), "stage": context.stageId(), "partition": context.partitionId()}
    os.write(descriptor, json.dumps(kill).encode())
    os.close(descriptor)
    os.killpg(groups[worker], signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


signatures._sketch_batches = sketch_or_kill_the_worker
conf = (
    ("spark.driver.host", "127.0.0.1"), ("spark.driver.bindAddress", "127.0.0.1"), ("spark.cores.max", "2"),
    ("spark.executor.memory", "512m"), ("spark.scheduler.minRegisteredResourcesRatio", "1.0"),
    ("spark.scheduler.maxRegisteredResourcesWaitingTime", "60s"),
)
spark = SparkConfig(
    master=master, app_name=name, driver_memory="1g", shuffle_partitions=4, auth_secret_file=secret_file, conf=conf
)
summary = run_dedup(Path(docs), Path(out), dataclasses.replace(CONFIG, spark=spark))  # its own session, stopped
Path(report).write_text(json.dumps({"outcomes": summary.outcomes, "counts": summary.counts}))
"""


def java_missing() -> str | None:
    return None if shutil.which("java") else "java not found: Spark's master and workers are JVMs (Java 17)"


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # make test-cluster: a cluster, a driver and a reference run take a minute or two
    pytest.mark.skipif(java_missing() is not None, reason=java_missing() or ""),
]


def test_a_worker_killed_during_dedup_changes_nothing(cluster_root: Path, spark: SparkSession, tmp_path: Path) -> None:
    docs = chained_corpus(tmp_path / "docs")[0].parent
    local = run_dedup(docs, tmp_path / "local", CONFIG, spark=spark)
    cluster = Cluster(cluster_root)
    secret_file = cluster_root / "secrets" / "spark_secret"
    url, ui = start_spark(cluster, HEAD, [W1, W2], free_port(), free_port(), secret_file)
    groups = {name: cluster.pid(name) for name in WORKERS}
    work = cluster_root / "spark" / "work"

    arguments = [url, str(secret_file), APP_NAME, str(docs), str(tmp_path / "cluster"), str(tmp_path / "report.json")]
    output = run_driver([*arguments, json.dumps(groups)])

    marker = tmp_path / "worker-kill.json"  # written by the task that killed its worker
    assert marker.is_file(), f"no signatures task recorded a kill:\n{output[-3000:]}"
    kill = json.loads(marker.read_text())
    executor_dir = Path(kill["cwd"])  # WORK/<worker>/<app>/<executor>
    (survivor,) = set(WORKERS) - {kill["worker"]}
    assert executor_dir.parent.parent == work / kill["worker"], kill
    assert_worker_lost(ui, cluster, kill["worker"], groups[kill["worker"]], work / kill["worker"])
    status = master_status(ui) or {}
    finished = [(app["id"], app["name"], app["state"]) for app in status.get("completedapps", [])]
    assert finished == [(executor_dir.parent.name, APP_NAME, "FINISHED")], (finished, output[-3000:])
    assert not status.get("activeapps"), status
    assert list((work / survivor / executor_dir.parent.name).iterdir()), f"{survivor} ran no executor"

    outcome = json.loads((tmp_path / "report.json").read_text())
    assert outcome == {"outcomes": local.outcomes, "counts": local.counts}
    for folder in ("signatures", "."):  # the signatures the executors wrote, and the kept documents
        assert shard_hashes(tmp_path / "cluster" / folder) == shard_hashes(tmp_path / "local" / folder)
    assert decision_rows(tmp_path / "cluster") == decision_rows(tmp_path / "local")
    assert read_json(tmp_path / "cluster" / "clusters.json") == read_json(tmp_path / "local" / "clusters.json")
    assert not (tmp_path / "cluster" / "_scratch" / "checkpoints").exists()

    assert set(stop(cluster_root)) == {"spark-master", *WORKERS}
    assert not list(marked_processes(cluster_root))


def run_driver(arguments: list[str]) -> str:
    """Run the driver in a session of its own (its JVM with it), killed whole when it ends or times out;
    returns its output, having checked that it exited 0."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(DEDUP_TESTS)]),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, *arguments],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = driver.communicate(timeout=DRIVER_TIMEOUT_S)[0]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    assert driver.returncode == 0, f"the driver exited {driver.returncode}:\n{output[-6000:]}"
    return output


def assert_worker_lost(ui: str, cluster: Cluster, name: str, group: int, work_dir: Path) -> None:
    """The master no longer counts worker ``name`` ALIVE (the other one still is), and none of its processes is
    left: nothing in its process group, nothing working in its folder (pyspark's daemon follows its executor)."""
    addresses = dict(zip(WORKERS, cluster.state["spark"]["workers"], strict=True))  # name -> web UI address
    states = {worker["webuiaddress"]: worker["state"] for worker in (master_status(ui) or {}).get("workers", [])}
    alive = {worker for worker, address in addresses.items() if states.get(address) == "ALIVE"}
    assert alive == set(WORKERS) - {name}, states
    deadline = time.monotonic() + GONE_TIMEOUT_S
    while left := worker_processes(group, work_dir):
        assert time.monotonic() < deadline, f"the killed worker left {left}"
        time.sleep(0.5)


def worker_processes(group: int, work_dir: Path) -> list[str]:
    """Live (not zombie) processes in ``group`` or with a working directory under ``work_dir``."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if os.getpgid(process.pid) == group or Path(process.cwd()).is_relative_to(work_dir):
                found.append(f"{process.pid} {' '.join(process.cmdline())[:200]}")
    return found
