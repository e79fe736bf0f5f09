"""Training on `make cluster`'s engines survives a lost Ray node and an absent MLflow server.

The cluster's head services, as ``make cluster`` starts them on loopback: PostgreSQL, the MLflow server (basic auth),
a Ray head and one worker node of one CPU each, so that the two Ray Train workers run one per node. Each run is a
fresh driver process (``run_training``, as the flow's train task calls it) joining by Ray Client, with the token.

- **A worker node killed mid-run:** its ``ray start`` process group is SIGKILLed (raylet, its workers) after the
  first checkpoint, and started again once Ray lists the node dead. Ray Train waits for the capacity, then
  continues from the last checkpoint in the same MLflow run; a step logged again carries the same value, and the
  final model equals an uninterrupted run's bit for bit.
- **The MLflow server stopped for 30 s mid-run:** training goes on while it is away (checkpoints keep coming),
  and after it returns every step is in the run with the uninterrupted run's values (``training.metric_buffer``).

The uninterrupted run is trained once on the same cluster, with the same seed and checkpoint schedule.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray_strangers
import torch
from token_fixtures import sample_texts, tokenize_texts

from infra.cluster import prefect_mlflow as services
from infra.cluster.postgres import Database, postgres_unavailable, start_postgres
from infra.cluster.spark_ray import LOOPBACK_SWITCH, RayNode, alive_ray_nodes, join_ray_worker, start_ray
from infra.cluster.supervisor import Cluster, Host
from training.checkpoint import STATE_FILE, latest_checkpoint

ROOT = Path(__file__).resolve().parents[2]
HEAD, W1 = Host("head", "127.0.0.1"), Host("w1", "127.0.0.1")
OBJECT_STORE_BYTES = 200_000_000
# Long enough that a fault lands mid-run and 30 s of an absent server pass while it trains; a checkpoint every
# 25 steps, so that a restart redoes some logged steps.
TRAIN = {
    "model": "tiny",
    "block_size": 64,
    "batch_size": 4,
    "max_steps": 400,
    "log_every": 5,
    "eval_every": 100,
    "checkpoint_every": 25,
    "workers": 2,
    "cpus_per_worker": 1,
    "max_failures": 3,
    "experiment": "faults",
}
COMPARED = ("train_loss", "lr", "grad_norm", "val_loss")  # deterministic given the seed (not tokens_per_s)
RUN_TIMEOUT_S = 600
DRIVER = """
import json, sys
from pathlib import Path
from training.config import TrainConfig
from training.run import run_training

tokens, out, name, settings = sys.argv[1:]
summary = run_training(Path(tokens), Path(out), TrainConfig(**json.loads(settings)), run_name=name)
print("RESULT " + json.dumps(summary.details))
"""

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(postgres_unavailable() is not None, reason=postgres_unavailable() or ""),
]


@dataclasses.dataclass
class Services:
    root: Path
    cluster: Cluster
    database: str
    tracking_uri: str
    credentials: dict[str, str]
    ray_client: str
    token_file: Path
    node: RayNode
    tokens: Path

    def settings(self) -> dict[str, Any]:
        return {**TRAIN, "ray_address": self.ray_client, "mlflow_tracking_uri": self.tracking_uri}

    def start_training(self, name: str) -> tuple[subprocess.Popen, Path]:
        """A driver process training ``TRAIN`` into ``root/name`` as the MLflow run ``name``."""
        out = self.root / name
        env = {
            **ray_strangers.holder_environment(self.root / f"{name}-home", self.token_file),
            **self.credentials,
            LOOPBACK_SWITCH: "0",  # this driver, too, takes 127.0.0.1 for its own address
            "PYTHONPATH": str(ROOT),
        }
        argv = [sys.executable, "-c", DRIVER, str(self.tokens), str(out), name, json.dumps(self.settings())]
        log = (self.root / f"{name}.log").open("w")
        driver = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return driver, out

    def finish(self, driver: subprocess.Popen, name: str) -> dict[str, Any]:
        """The run's summary details, once the driver ends (its log's tail if it failed)."""
        try:
            driver.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
        log = (self.root / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        assert driver.returncode == 0, log[-5000:]
        (line,) = [line for line in log.splitlines() if line.startswith("RESULT ")]
        return json.loads(line.removeprefix("RESULT "))

    def history(self, details: dict[str, Any]) -> dict[str, dict[int, list[float]]]:
        """Every value logged, by metric and step (a step logged again appears twice)."""
        import mlflow

        client = mlflow.MlflowClient(self.tracking_uri)
        points: dict[str, dict[int, list[float]]] = {}
        for key in COMPARED:
            by_step: dict[int, list[float]] = defaultdict(list)
            for metric in sorted(client.get_metric_history(details["mlflow_run_id"], key), key=lambda m: m.timestamp):
                by_step[metric.step].append(metric.value)
            points[key] = dict(by_step)
        return points


@pytest.fixture(scope="module")
def head(module_cluster_root: Path) -> Iterator[Services]:
    root, secrets = module_cluster_root, module_cluster_root / "secrets"
    cluster = Cluster(root)
    database = start_postgres(
        cluster,
        HEAD,
        cluster.port(HEAD),
        [Database("mlflow", secrets / "mlflow_postgres_password", ("mlflow", "mlflow_auth"))],
        ["127.0.0.1/32"],
    )
    uri = services.start_mlflow(cluster, HEAD, cluster.port(HEAD), database, secrets, root / "artifacts")
    credentials = {
        "MLFLOW_TRACKING_USERNAME": services.MLFLOW_USER,
        "MLFLOW_TRACKING_PASSWORD": services.read_secret(secrets, "mlflow_password"),
    }
    node = RayNode(cpus=1, env={"MLFLOW_TRACKING_URI": uri, **credentials}, object_store_bytes=OBJECT_STORE_BYTES)
    ports = [cluster.port(HEAD) for _ in range(3)]
    _, client = start_ray(
        cluster, HEAD, [W1], *ports, secrets / "ray_token", node.cpus, node.env, node.object_store_bytes
    )
    tokens = tokenize_texts(root / "sample", sample_texts())
    with pytest.MonkeyPatch.context() as patch:  # this process reads the server's metrics, too
        for name, value in credentials.items():
            patch.setenv(name, value)
        yield Services(root, cluster, database, uri, credentials, client, secrets / "ray_token", node, tokens)


@pytest.fixture(scope="module")
def uninterrupted(head: Services) -> dict[str, Any]:
    """The reference: the same training, no fault. Its summary, metrics and final weights."""
    driver, out = head.start_training("uninterrupted")
    details = head.finish(driver, "uninterrupted")
    return {"details": details, "history": head.history(details), "model": final_model(out)}


def test_a_killed_worker_node_is_waited_for_and_the_run_continues_in_the_same_mlflow_run(
    head: Services, uninterrupted: dict[str, Any]
) -> None:
    driver, out = head.start_training("node-lost")
    killed_after = wait_for_checkpoint(out, driver, at_least=TRAIN["checkpoint_every"])
    recorded = json.loads((out / "mlflow_run.json").read_text(encoding="utf-8"))["run_id"]
    os.killpg(head.cluster.pid("ray-worker-1"), signal.SIGKILL)
    token = head.token_file.read_text(encoding="utf-8").strip()
    dashboard = head.cluster.state["ray"]["dashboard"]
    deadline = time.monotonic() + 120
    while "ray-worker-1" in alive_ray_nodes(dashboard, token):
        assert time.monotonic() < deadline, "Ray still lists the killed node ALIVE after 2 minutes"
        time.sleep(1)
    join_ray_worker(head.cluster, "ray-worker-1", W1, head.token_file, head.node)
    details = head.finish(driver, "node-lost")

    assert details["mlflow_run_id"] == recorded  # the same MLflow run, from its start to its end
    history = head.history(details)
    logged_twice = [step for step, values in history["train_loss"].items() if len(values) > 1]
    assert logged_twice, f"no step was trained again after the node was lost (killed after step {killed_after})"
    assert_same_metrics(history, uninterrupted["history"])
    assert_same_model(final_model(out), uninterrupted["model"])


def test_training_goes_on_while_the_mlflow_server_is_away_and_no_metric_is_lost(
    head: Services, uninterrupted: dict[str, Any]
) -> None:
    driver, out = head.start_training("mlflow-away")
    wait_for_checkpoint(out, driver, at_least=TRAIN["checkpoint_every"])
    os.killpg(head.cluster.pid("mlflow-head"), signal.SIGTERM)
    stopped_at, stopped = time.monotonic(), latest_step(out)
    while time.monotonic() - stopped_at < 30:
        assert driver.poll() is None or driver.returncode == 0, "training failed while MLflow was away"
        time.sleep(1)
    trained_while_away = latest_step(out) - stopped
    secrets = head.root / "secrets"
    port = int(head.tracking_uri.rsplit(":", 1)[1])
    services.start_mlflow(head.cluster, HEAD, port, head.database, secrets, head.root / "artifacts")
    details = head.finish(driver, "mlflow-away")

    assert trained_while_away > 0, "no checkpoint was written while the MLflow server was away"
    assert_same_metrics(head.history(details), uninterrupted["history"])
    assert_same_model(final_model(out), uninterrupted["model"])


def wait_for_checkpoint(out: Path, driver: subprocess.Popen, at_least: int) -> int:
    """The step of the first checkpoint of ``at_least`` steps or more, once it is written (the run not yet done)."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while (step := latest_step(out)) < at_least:
        assert driver.poll() is None, f"the driver ended ({driver.returncode}) before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.5)
    assert step < TRAIN["max_steps"], "the run finished before the fault: lengthen TRAIN"
    return step


def latest_step(out: Path) -> int:
    found = latest_checkpoint(out / "checkpoints")
    return found[1]["step"] if found else 0


def final_model(out: Path) -> dict[str, torch.Tensor]:
    found = latest_checkpoint(out / "checkpoints")
    assert found is not None and found[1]["step"] == TRAIN["max_steps"]
    return torch.load(found[0] / STATE_FILE, map_location="cpu", weights_only=False)["model"]


def assert_same_metrics(
    history: dict[str, dict[int, list[float]]], reference: dict[str, dict[int, list[float]]]
) -> None:
    """Every step the reference logged is there, and every value logged for it (twice after a restart) is the
    reference's. A resumed run also logs its first step, one after a checkpoint's."""
    checkpoints = set(range(0, TRAIN["max_steps"], TRAIN["checkpoint_every"]))
    for key, by_step in reference.items():
        missing = sorted(set(by_step) - set(history[key]))
        extra = sorted(step for step in set(history[key]) - set(by_step) if step - 1 not in checkpoints)
        assert not missing and not extra, f"{key}: steps missing {missing}, logged though not due {extra}"
        differing = {
            step: (values, by_step[step])
            for step, values in history[key].items()
            if step in by_step and set(values) != set(by_step[step])
        }
        assert not differing, f"{key}: values (here, uninterrupted) differ: {differing}"


def assert_same_model(model: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> None:
    assert model.keys() == reference.keys()
    differing = [name for name, tensor in model.items() if not torch.equal(tensor, reference[name])]
    assert not differing, f"weights differ from the uninterrupted run's: {differing}"
