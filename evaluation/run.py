"""``run_evaluation``: one model, the GPT-2 paper's zero-shot tasks, one MLflow run linked to its training run.

Everything that can be checked before the model is loaded is: the task list, every task's file and
its examples (a malformed LAMBADA line is an error naming the file and line). Each task's metrics are
logged the moment it finishes (``lambada_acc``, ``lambada_ppl``, ``wikitext2_word_ppl`` …), so a task
that fails later loses nothing already measured; the run is then marked failed and the error raised.

The evaluation run is a child of the model's training run (MLflow's ``mlflow.parentRunId``) when the
model came from a training run of the same store, with tags ``model_size``, ``n_params`` and
``webtext.kind = evaluate``; ``webtext compare`` reads those. An evaluation that a kill or a failed task
interrupted continues in its own run when it is run again (``evaluation/mlflow_runs.py``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation.config import EvalConfig
from evaluation.mlflow_runs import (
    FINGERPRINT_TAG,
    MODEL_IDENTITY_TAG,
    STAGE,
    completed_tasks,
    fingerprint_runs,
    finished_run,
    resumable_run,
    retire_superseded,
)
from evaluation.tasks import TASKS, EvalOptions
from pipeline.decontaminate.overlap import corpus_overlap_report
from pipeline.layout import EVAL_SUMMARY
from pipeline.lineage import CORPUS_TAG, LINEAGE_PREFIX, MANIFEST_TAG, OVERLAP_REPORT, TOKENS_TAG
from pipeline.shards import atomic_write_json, file_sha256, fingerprint, read_json
from pipeline.stage import StageSummary, Stopwatch, SummaryError, read_summary
from pipeline.tracking import KIND_TAG
from training.run_folder import model_weights_file, run_folder_of

FAILED_TAG_PREFIX = "failed_"  # failed_<task>: the error of a task that failed
log = logging.getLogger(__name__)


class EvaluationFailed(RuntimeError):
    """One or more tasks failed; the metrics of the others are in the MLflow run."""


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What one evaluation measured, or found measured by a finished run with the same fingerprint (``skipped``)."""

    run_id: str
    model_size: str | None
    n_params: int
    metrics: dict[str, float]
    failures: dict[str, str]
    task_seconds: dict[str, float]  # each task that finished: how long it took
    skipped: bool = False


def task_files(cfg: EvalConfig, skip_missing: bool = False) -> dict[str, Path]:
    """Each task's file; a missing one is an error naming it (or, with ``skip_missing``, the task is left out)."""
    files = {}
    for name in cfg.tasks:
        path = cfg.task_file(name, TASKS[name].filename)
        if path.is_file():
            files[name] = path
        elif skip_missing:
            log.warning("evaluate: %s skipped, %s not found", name, path)
        else:
            raise FileNotFoundError(
                f"{name}: {path} not found; put {TASKS[name].filename} in --data-dir ({cfg.data_folder()}) or give "
                f"--task-path {name}=PATH"
            )
    if not files:
        raise FileNotFoundError(f"none of the tasks {', '.join(cfg.tasks)} has its file in {cfg.data_folder()}")
    return files


def _training_store(run_folder: Path | None) -> str | None:
    """The MLflow store the model's training run logged to (its summary.json says), unless the environment
    names one: evaluation joins its training run there."""
    if run_folder is None or os.environ.get("MLFLOW_TRACKING_URI"):
        return None
    try:
        summary = read_summary(run_folder)
    except SummaryError as error:
        log.warning("evaluate: the training run's store is unknown (%s)", error)
        return None
    return summary.details.get("mlflow_tracking_uri") if summary is not None and summary.stage == "train" else None


def _overlap_report(tags: Mapping[str, str], training_params: Mapping[str, str]) -> Path | None:
    """The decontamination overlap table of the corpus the model was trained on: the one its corpus version links
    (the training run's lineage tags name the version); for a model trained outside the flow, without a version,
    the one decontaminate left beside the corpus its tokens were made from."""
    version = read_json(Path(tags[MANIFEST_TAG])) if tags.get(MANIFEST_TAG) else None
    report = None
    if linked := (version or {}).get("reports", {}).get(OVERLAP_REPORT):
        report = Path(linked)
    elif tokens_dir := training_params.get("tokens_dir"):
        try:
            summary = read_summary(Path(tokens_dir))
        except SummaryError as error:
            log.warning("evaluate: no overlap report linked (%s)", error)
            summary = None
        docs_dir = summary.details.get("docs_dir") if summary else None
        report = corpus_overlap_report(Path(docs_dir)) if docs_dir else None
    return report if report is not None and report.is_file() else None


def _start_run(
    uri: str,
    cfg: EvalConfig,
    model: Any,
    files: dict[str, Path],
    ref: str,
    identity: str,
    key: str,
    extra_tags: Mapping[str, str],
    resumed: Any | None,
) -> tuple[str, Path | None]:
    """The evaluation run (nested under the training run when that run is in this store, whose lineage tags it
    copies: hashes, corpus version, code), or the run of the same fingerprint that a kill or a failure interrupted,
    continued; returns its id and the corpus's overlap report, if found."""
    import mlflow

    from pipeline.tracking import experiment_id

    client = mlflow.MlflowClient(uri)
    size = model.metadata.get("model_size") or f"{model.n_params / 1e6:.1f}M"
    tags = {KIND_TAG: STAGE, FINGERPRINT_TAG: key, "model_size": str(size), "n_params": str(model.n_params)}
    tags[MODEL_IDENTITY_TAG] = identity
    training_params: dict[str, str] = {}
    parent = model.metadata.get("mlflow_run_id")
    if parent:
        try:
            training = client.get_run(parent)
            training_params = dict(training.data.params)
            tags |= {"mlflow.parentRunId": parent, "training_run_id": parent}
            tags |= {name: value for name, value in training.data.tags.items() if name.startswith(LINEAGE_PREFIX)}
        except mlflow.exceptions.MlflowException:
            tags["training_run_id"] = parent  # trained against another store: linked by id only
    for name, lineage_tag in (("corpus_sha256", CORPUS_TAG), ("tokens_manifest_sha256", TOKENS_TAG)):
        if model.metadata.get(name):  # an exported model carries both hashes, whatever store trained it
            tags[name] = str(model.metadata[name])
            tags.setdefault(lineage_tag, tags[name])
    tags |= extra_tags
    if resumed is None:
        run_id = client.create_run(experiment_id(uri, cfg.experiment), run_name=f"eval-{size}", tags=tags).info.run_id
    else:
        run_id = resumed.info.run_id
        log.info("evaluate: continuing MLflow run %s (%s)", run_id, resumed.info.status)
        client.update_run(run_id, status="RUNNING")
        for tag in [tag for tag in resumed.data.tags if tag.startswith(FAILED_TAG_PREFIX)]:
            client.delete_tag(run_id, tag)  # the failed tasks are scored again
    params = {
        "model": ref,
        "tasks": ",".join(files),
        "limit": cfg.limit if cfg.limit is not None else "none",
        "batch_size": cfg.batch_size,
        "window": "disjoint" if cfg.stride is None else f"sliding (stride {cfg.stride})",
        "stride": cfg.stride if cfg.stride is not None else "none",
        "device": "cuda" if cfg.gpu else "cpu",
        "max_length": model.max_length,
    }
    for name, path in files.items():
        params |= {
            f"{name}_version": TASKS[name].version,
            f"{name}_file": str(path),
            f"{name}_sha256": file_sha256(path),
        }
    logged = resumed.data.params if resumed is not None else {}
    for name, value in params.items():
        if name not in logged:  # a resumed run keeps what it was started with (a param is written once)
            client.log_param(run_id, name, str(value))
    return run_id, _overlap_report(tags, training_params)


def run_evaluation(
    ref: str | Path,
    cfg: EvalConfig,
    skip_missing: bool = False,
    out_dir: Path | None = None,
    tags: Mapping[str, str] | None = None,
) -> StageSummary:
    """Evaluate the model at ``ref`` (a training run folder or checkpoint, an HF export, an MLflow run id) on
    ``cfg.tasks``; each task's metrics are logged to MLflow as soon as it finishes. The MLflow store: the config's,
    else ``MLFLOW_TRACKING_URI``, else the one the training run logged to, else ``mlflow.db`` in ``out_dir``
    (default: the training run folder, else the model folder), which also gets ``eval_summary.json``."""
    from evaluation.model_loading import load_model
    from pipeline.tracking import MetricsLogger, tracking_uri

    clock = Stopwatch()
    files = task_files(cfg, skip_missing)
    examples = {name: TASKS[name].load(path, cfg.limit) for name, path in files.items()}  # bad files fail here
    run_folder = run_folder_of(Path(ref)) if Path(ref).exists() else None  # None: an MLflow run id
    folder = out_dir or run_folder or Path.cwd()
    uri = tracking_uri(cfg.mlflow_tracking_uri or _training_store(run_folder), folder)
    identity = model_identity(ref)
    key = eval_fingerprint(identity, cfg, files)
    retire_superseded(uri, cfg.experiment, str(ref), identity, key)
    runs = fingerprint_runs(uri, cfg.experiment, key)
    if (done := finished_run(runs)) is not None:  # the same model, tasks, files and settings
        tags, timings = done.data.tags, dict.fromkeys(files, 0.0)
        size, n_params = tags.get("model_size"), int(tags.get("n_params", 0))
        found = Outcome(done.info.run_id, size, n_params, dict(done.data.metrics), {}, timings, skipped=True)
        return _summary(folder, ref, cfg, uri, found, clock)
    model = load_model(ref, device="cuda" if cfg.gpu else "cpu", batch_size=cfg.batch_size, mlflow_uri=uri)
    earlier = resumable_run(runs)  # a kill or a failure interrupted it: it goes on, its finished tasks kept
    run_id, overlap = _start_run(uri, cfg, model, files, str(ref), identity, key, tags or {}, earlier)
    logger, metrics, failures, timings = MetricsLogger(uri, run_id), {}, {}, {}
    for name in sorted(completed_tasks(earlier, examples)):
        metrics |= {metric: value for metric, value in earlier.data.metrics.items() if metric.startswith(f"{name}_")}
        timings[name] = 0.0
    for name, task_examples in examples.items():
        if name in timings:
            continue
        started = time.perf_counter()
        try:
            scores = TASKS[name].score(model, task_examples, EvalOptions(stride=cfg.stride))
        except Exception as error:  # noqa: BLE001 (one task's failure must not lose the others' metrics)
            failures[name] = f"{type(error).__name__}: {error}"
            log.error("evaluate: %s failed: %s", name, failures[name])
            continue
        timings[name] = round(time.perf_counter() - started, 3)
        task_metrics = {f"{name}_{key}": float(value) for key, value in scores.items() if _is_number(value)}
        logger.log(0, task_metrics)  # logged now: a later failure loses nothing
        metrics |= task_metrics
    _finish(uri, run_id, folder, metrics, failures, overlap)
    outcome = Outcome(run_id, model.metadata.get("model_size"), model.n_params, metrics, failures, timings)
    summary = _summary(folder, ref, cfg, uri, outcome, clock)
    if failures:
        raise EvaluationFailed(
            f"{len(failures)} task(s) failed ({'; '.join(f'{k}: {v}' for k, v in failures.items())}); the others' "
            f"metrics are in MLflow run {run_id}"
        )
    return summary


def model_identity(ref: str | Path) -> str:
    """What the model's weights are: the sha256 of its weights file, or the MLflow run id it was given as."""
    weights = model_weights_file(Path(ref))
    return file_sha256(weights) if weights is not None else str(ref)


def eval_fingerprint(identity: str, cfg: EvalConfig, files: dict[str, Path]) -> str:
    """The model (``model_identity``), each task's version and file contents, and the settings that change a number
    (not batch size)."""
    tasks = {name: [TASKS[name].version, file_sha256(path)] for name, path in sorted(files.items())}
    return fingerprint(STAGE, identity, tasks, cfg.limit, cfg.stride)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _finish(uri: str, run_id: str, folder: Path, metrics: dict, failures: dict[str, str], overlap: Path | None) -> None:
    import mlflow

    client = mlflow.MlflowClient(uri)
    results = folder / f"eval-{run_id[:8]}.json"
    folder.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps({"metrics": metrics, "failures": failures}, indent=2, sort_keys=True) + "\n")
    client.log_artifact(run_id, str(results))
    if overlap is not None:
        client.log_artifact(run_id, str(overlap), artifact_path="decontamination")
    for name, message in failures.items():
        client.set_tag(run_id, f"{FAILED_TAG_PREFIX}{name}", message[:5000])
    client.set_terminated(run_id, "FAILED" if failures else "FINISHED")


def _summary(
    folder: Path, ref: str | Path, cfg: EvalConfig, uri: str, outcome: Outcome, clock: Stopwatch
) -> StageSummary:
    finished, failures = outcome.task_seconds, outcome.failures
    summary = StageSummary(
        stage=STAGE,
        out_dir=str(folder),
        outcomes={"task_ok": len(finished), **({"task_failed": len(failures)} if failures else {})},
        counts={"tasks": len(finished), "n_params": outcome.n_params},
        units=len(finished) + len(failures),
        units_skipped=len(finished) if outcome.skipped else 0,
        seconds=clock.seconds(),
        details={
            "model": str(ref),
            "model_size": outcome.model_size,
            "metrics": outcome.metrics,
            "failures": failures,
            "task_seconds": finished,
            "mlflow_tracking_uri": uri,
            "mlflow_run_id": outcome.run_id,
        },
        config={
            key: str(value) if isinstance(value, Path) else value for key, value in dataclasses.asdict(cfg).items()
        },
    )
    atomic_write_json(folder / EVAL_SUMMARY, summary.as_json())
    return summary
