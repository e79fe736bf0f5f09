"""MLflow, as training, evaluation, the comparison and the run report use it: where the store is, runs, metrics.

The tracking URI is the config's, else ``MLFLOW_TRACKING_URI`` (as every MLflow tool reads it), else a
SQLite file ``mlflow.db`` in the run folder, with the artifacts in ``mlartifacts/`` beside it (never
``./mlruns`` in whatever folder the command ran from). Credentials for a tracking server come from the
environment only (``CREDENTIAL_VARIABLES``), never from params or configs. Training's driver creates a run
(or reopens it on resume) and passes its id to the Ray workers; rank 0 logs metrics into it from inside the
train loop, so no Ray callback is needed and the run id survives worker restarts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MLFLOW_DB = "mlflow.db"
KIND_TAG = "webtext.kind"  # evaluation, comparison and report runs carry it; training runs do not
ARTIFACTS_DIR = "mlartifacts"
# How MLflow clients take a tracking server's credentials: from the environment, never from params or configs
CREDENTIAL_VARIABLES = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
)


def tracking_uri(configured: str | None, run_folder: Path) -> str:
    """The configured URI, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///<run_folder>/mlflow.db``."""
    if configured:
        return configured
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    run_folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(run_folder / MLFLOW_DB).resolve()}"


def credential_environment() -> dict[str, str]:
    """This process's MLflow credentials, for processes elsewhere that log to the same server (Ray workers)."""
    return {name: os.environ[name] for name in CREDENTIAL_VARIABLES if os.environ.get(name)}


def experiment_id(uri: str, name: str) -> str:
    """The experiment ``name`` in the store at ``uri``, created (artifacts beside a SQLite store) if missing."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).parent / ARTIFACTS_DIR).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


def start_run(uri: str, experiment: str, run_name: str, params: Mapping[str, Any], tags: Mapping[str, str]) -> str:
    """A new run with its params and tags; returns its id."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    run = client.create_run(experiment_id(uri, experiment), run_name=run_name, tags=dict(tags))
    params_list = [mlflow.entities.Param(key, str(value)[:6000]) for key, value in sorted(params.items())]
    for start in range(0, len(params_list), 100):
        client.log_batch(run.info.run_id, params=params_list[start : start + 100])
    return run.info.run_id


class MetricsLogger:
    """Metrics of one run, logged by step (rank 0 of the workers, or the driver)."""

    def __init__(self, uri: str, run_id: str) -> None:
        import mlflow

        self._client, self._run_id = mlflow.MlflowClient(uri), run_id
        self._metric = mlflow.entities.Metric

    def log(self, step: int, values: Mapping[str, float | None]) -> None:
        import time

        now = int(time.time() * 1000)
        metrics = [self._metric(key, float(value), now, step) for key, value in values.items() if value is not None]
        if metrics:
            self._client.log_batch(self._run_id, metrics=metrics)


def history(uri: str, run_id: str, key: str) -> list[tuple[int, float]]:
    """A metric's (step, value) points, by step; a step logged again (after a restart) keeps its last value."""
    import mlflow

    points = {}
    for metric in sorted(mlflow.MlflowClient(uri).get_metric_history(run_id, key), key=lambda m: m.timestamp):
        points[metric.step] = metric.value
    return sorted(points.items())


def finish_run(uri: str, run_id: str, artifacts: Mapping[str, Path], tags: Mapping[str, str]) -> None:
    """Log ``artifacts`` (name → file or folder) and tags, and mark the run finished."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    for name, path in artifacts.items():
        if path.is_dir():
            client.log_artifacts(run_id, str(path), artifact_path=name)
        else:
            client.log_artifact(run_id, str(path), artifact_path=name or None)
    for key, value in tags.items():
        client.set_tag(run_id, key, value)
    client.set_terminated(run_id, "FINISHED")
