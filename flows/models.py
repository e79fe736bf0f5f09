"""The model half of the ``webtext`` flow: the corpus version, training when due, evaluation, the size table.

Each size trains once per corpus version (``models/<size>/<version>``), and only when the corpus grew by
``train.min_new_tokens`` since that size's latest model, or when the flow's ``train`` parameter asks. Every
MLflow run gets the version's lineage tags and this flow run's id.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from evaluation.compare import compare_models
from evaluation.run import run_evaluation
from flows.config import (
    EvaluateSection,
    RunConfig,
    TrainSection,
    match_dumps,
)
from flows.stages import log_summary
from pipeline.decontaminate.overlap import corpus_overlap_report
from pipeline.harvest.sources import archived_snapshots
from pipeline.layout import latest_model
from pipeline.lineage import (
    FLOW_RUN_TAG,
    OVERLAP_REPORT,
    TrainingCase,
    record_version,
    training_due,
    version_path,
)
from pipeline.stage import read_summary
from pipeline.tracking import tracking_uri
from training.config import TrainConfig
from training.run import run_training
from training.run_folder import has_run


@task(name="record_corpus_version")
def record_corpus_version(config: RunConfig, config_path: str) -> dict[str, Any]:
    """The corpus version of this run's tokens: a new ``versions/vNNNN.json`` when they changed (inputs with hashes:
    dumps, API snapshots, blocklists; config, code version, counts per stage, shard hashes), else the latest one."""
    dumps, unmatched = match_dumps(config.harvest.dumps)
    blocklists = [path for path in config.harvest.blocklists if path.is_file()]
    unmatched += [str(path) for path in config.harvest.blocklists if not path.is_file()]
    if unmatched:  # a slice run where the dumps are not: its version lists the inputs it found
        get_run_logger().warning("corpus version: inputs not found here, left out of its inputs: %s", unmatched)
    # The blocklists decide which links are kept as much as the dumps do: an edited list is a new input.
    inputs = [*dumps, *(source.path for source in archived_snapshots(config.urls_dir)), *blocklists]
    manifest, new = record_version(
        config.data_root,
        config.tokens_dir,
        config.stage_folders(),
        inputs,
        {"config_path": config_path, **config.model_dump(mode="json")},
        flow_run_id=current_flow_run_id(),
        reports={OVERLAP_REPORT: corpus_overlap_report(config.corpus_dir)},
        corpus_dir=config.corpus_dir,
    )
    state = "new" if new else "unchanged"
    get_run_logger().info(
        "corpus version %s (%s): %s tokens, corpus sha256 %s",
        manifest["name"],
        state,
        f"{manifest['tokens']['tokens']:,}",
        manifest["corpus_sha256"][:12],
    )
    karma = manifest.get("karma") or {}
    if new and karma.get("changed"):
        get_run_logger().info("%s documents have a newer karma than in %s", karma["changed"], karma["compared_with"])
    return {
        "name": manifest["name"],
        "new": new,
        "train_tokens": manifest["tokens"]["splits"].get("train", 0),
        "corpus_sha256": manifest["corpus_sha256"],
        "path": str(version_path(config.data_root, manifest)),
    }


@task(name="train_model")
def train_model(section: TrainSection, size: str, tokens_dir: Path, out_dir: Path, data_root: Path) -> dict[str, Any]:
    """Token shards → one model of ``size`` (Ray Train), its checkpoints, its Hugging Face export and its MLflow run
    (tagged with the corpus version, both hashes and this flow run's id); every size of a run logs to one MLflow
    store (``data_root/mlflow.db`` unless configured) to compare them."""
    cfg: TrainConfig = section.config()
    uri = tracking_uri(cfg.mlflow_tracking_uri, data_root)
    cfg = dataclasses.replace(cfg, model=size, mlflow_tracking_uri=uri)
    summary = run_training(tokens_dir, out_dir, cfg, run_name=f"train-{size}", tags=flow_run_tags())
    details = summary.details
    get_run_logger().info(
        "%s: train loss %.3f -> %.3f, val loss %s; MLflow run %s",
        size,
        details["first_train_loss"],
        details["train_loss"],
        "n/a" if details["val_loss"] is None else f"{details['val_loss']:.3f}",
        details["mlflow_run_id"],
    )
    return log_summary(summary)


@task(name="evaluate_model")
def evaluate_model(section: EvaluateSection, model: str, data_root: Path) -> dict[str, Any]:
    """A trained model (run folder, checkpoint, export or MLflow run id) → its zero-shot metrics (the GPT-2 paper's
    tasks) in an MLflow run under its training run, with the training run's lineage tags."""
    cfg = section.config()
    cfg = dataclasses.replace(cfg, mlflow_tracking_uri=tracking_uri(cfg.mlflow_tracking_uri, data_root))
    summary = run_evaluation(model, cfg, skip_missing=section.skip_missing, tags=flow_run_tags())
    metrics = ", ".join(f"{name} {value:.3f}" for name, value in summary.details["metrics"].items())
    get_run_logger().info("%s: %s", summary.details["model_size"], metrics)
    return log_summary(summary)


@task(name="compare_models")
def compare_sizes(
    section: EvaluateSection, data_root: Path, out_dir: Path, version: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every evaluated size of the experiment → the GPT-2 paper's table (Markdown, CSV, plot), logged to MLflow in
    the comparison run of corpus ``version`` (nothing is logged when the table did not change)."""
    cfg = section.config()
    result = compare_models(tracking_uri(cfg.mlflow_tracking_uri, data_root), cfg.experiment, out_dir, version)
    get_run_logger().info("model sizes compared:\n%s", result["table"])
    return result


def current_flow_run_id() -> str | None:
    """This flow run's id (``None`` outside a flow run)."""
    from prefect.runtime import flow_run

    return flow_run.id or None


def flow_run_tags() -> dict[str, str]:
    flow_run_id = current_flow_run_id()
    return {FLOW_RUN_TAG: flow_run_id} if flow_run_id else {}


def training_case(config: RunConfig, size: str, version: dict[str, Any], asked: bool | None) -> TrainingCase:
    """The facts ``training_due`` decides on, for ``size`` and this corpus version, read from the data root."""
    target = config.model_dir(size, version["name"])
    previous = latest_model(config.models_dir / size)
    summary = None if previous is None else read_summary(previous)
    return TrainingCase(
        target=str(target),
        started=has_run(target),
        asked=asked,
        train_tokens=version["train_tokens"],
        previous=None if previous is None else previous.name,
        previous_train_tokens=None if summary is None else summary.counts.get("train_tokens"),
        min_new_tokens=config.train.min_new_tokens,
    )


def model_label(model: str | Path) -> str:
    """``tiny/v0002`` for a flow's model folder, else the reference as given."""
    path = Path(model)
    return f"{path.parent.name}/{path.name}" if path.parent.parent.name == "models" else str(model)


def model_stages(
    config: RunConfig, version: dict[str, Any] | None, asked: bool | None
) -> tuple[dict[str, Any], list[Path]]:
    """Train each configured size when due; returns the training summaries (``train SIZE``) and the model folders to
    evaluate: each size's newest model."""
    trained: dict[str, Any] = {}
    models = []
    for size in config.train.models:
        if config.runs("train") and version is not None:
            due, why = training_due(training_case(config, size, version, asked))
            get_run_logger().info("train %s on %s: %s (%s)", size, version["name"], "yes" if due else "no", why)
            if due:
                out_dir = config.model_dir(size, version["name"])
                trained[f"train {size}"] = train_model(config.train, size, config.tokens_dir, out_dir, config.data_root)
        elif config.runs("train"):
            get_run_logger().warning(
                "train %s: no tokens under %s; run the tokenize stage first", size, config.tokens_dir
            )
        if (latest := latest_model(config.models_dir / size)) is not None:
            models.append(latest)
    return trained, models
