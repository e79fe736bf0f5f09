"""MLflow for training runs: where the tracking store is, one run per trained model, its curve and its export.

The tracking URI is the config's, else ``MLFLOW_TRACKING_URI`` (as every MLflow tool reads it), else a
SQLite file ``mlflow.db`` in the run folder, with the artifacts in ``mlartifacts/`` beside it (never
``./mlruns`` in whatever folder the command ran from). The driver creates the run (or reopens it on
resume) and passes its id to the Ray workers; rank 0 logs metrics into it from inside the train loop,
so no Ray callback is needed and the run id survives worker restarts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MLFLOW_DB = "mlflow.db"
KIND_TAG = "webtext.kind"  # evaluation, comparison and report runs carry it; training runs do not
ARTIFACTS_DIR = "mlartifacts"
CURVE_METRICS = ("train_loss", "val_loss")
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


def loss_curve(uri: str, run_id: str, path: Path, title: str) -> Path:
    """A PNG of the run's train and validation loss by step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for key in CURVE_METRICS:
        points = history(uri, run_id, key)
        if points:
            steps, values = zip(*points, strict=True)
            axes.plot(steps, values, label=key, marker="o" if len(points) < 20 else None)
    axes.set_xlabel("step")
    axes.set_ylabel("cross-entropy (nats per token)")
    axes.set_title(title)
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


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


REPORT_KIND = "report"


def log_report(uri: str, experiment: str, version: Mapping[str, Any], files: list[Path]) -> Any:
    """Log the run report's files to the run ``report-<version>`` (one per corpus version, updated by each flow run
    that reports on it), tagged with the version's hashes; returns its ``RunInfo`` (``run_id``, ``experiment_id``)."""
    import mlflow

    from pipeline.lineage import CORPUS_TAG, MANIFEST_TAG, VERSION_TAG

    client = mlflow.MlflowClient(uri)
    experiment_key = experiment_id(uri, experiment)
    name = f"report-{version['name']}"
    found = client.search_runs(
        [experiment_key],
        filter_string=f"tags.`{KIND_TAG}` = '{REPORT_KIND}' and tags.`{VERSION_TAG}` = '{version['name']}'",
    )
    tags = {
        KIND_TAG: REPORT_KIND,
        VERSION_TAG: version["name"],
        CORPUS_TAG: version["corpus_sha256"],
        MANIFEST_TAG: version["path"],
    }
    info = found[0].info if found else client.create_run(experiment_key, run_name=name, tags=tags).info
    for path in files:
        if path.is_file():
            client.log_artifact(info.run_id, str(path), artifact_path="report")
    client.set_terminated(info.run_id, "FINISHED")
    return info
