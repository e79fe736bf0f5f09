"""``run_training``: one model trained on one tokens folder with Ray Train, tracked in MLflow, exported.

The output directory is a run folder (``training/run_folder.py`` names its parts)::

    checkpoints/train/step-00000100/   Ray Train's checkpoints (state.pt + meta.json), the last
                                       ``keep_checkpoints`` kept
    hf/                                the final model as a Hugging Face GPT2LMHeadModel + its tokenizer
    mlflow.db, mlartifacts/            the MLflow store, unless a tracking URI is configured
    loss_curve.png, train_config.json  also logged to the MLflow run
    mlflow_run.json                    the MLflow run this folder trains into (a run killed before its first
                                       checkpoint starts again in the same MLflow run, not a new one)
    summary.json

Everything is checked before Ray starts: the tokens folder (a truncated shard, too few tokens for one
batch), an existing checkpoint of another shape or tokens folder, the Ray address. A run resumes from
the latest checkpoint in ``checkpoints/``; a run already at ``max_steps`` does nothing but write its export
if that is missing or from another checkpoint.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from pipeline.layout import LOSS_CURVE
from pipeline.lineage import VERSION_TAG, lineage_tags
from pipeline.services.preflight import check_ray, ray_address
from pipeline.services.ray_token import enable_ray_token
from pipeline.shards import atomic_write_json, read_json
from pipeline.stage import StageSummary, Stopwatch
from pipeline.tokenize.tokens_folder import TOKENIZER_DIR, corpus_sha256, read_manifest
from pipeline.tracking import credential_environment, finish_run, history, start_run, tracking_uri
from training.checkpoint import SavedCheckpoint, check_compatible, latest_checkpoint, model_weights
from training.config import TrainConfig
from training.data import TokenDataError, TokenSplit, Windows
from training.loss_curve import loss_curve
from training.model import GPT, GPTConfig
from training.run_folder import CHECKPOINTS_DIR, HF_DIR, METADATA_FILE, RUN_RECORD, WEIGHTS_FILE

logger = logging.getLogger(__name__)

STAGE = "train"
RAY_RUN_NAME = "train"
# Ray Client's proxy starts one server process per driver; on a loaded head that process sometimes ends before it
# serves (seen here on 2 cores under load). The proxy then says so, or trips over the dead process as it looks at it
# (psutil's ZombieProcess in its ``start_specific_server``). A new connection gets a new server: the join is tried
# again.
CLIENT_SERVER_FAILURES = ("Starting Ray client server failed", "start_specific_server")
CLIENT_ATTEMPTS = 3


def client_server_failed(message: str) -> bool:
    """Whether ``message`` (an error, a driver's stderr) is Ray Client's per-driver server failing to start."""
    return any(failure in message for failure in CLIENT_SERVER_FAILURES)


@dataclasses.dataclass(frozen=True, slots=True)
class TrainingPlan:
    """What a run will do, decided (and checked) before Ray starts."""

    model_config: GPTConfig
    n_params: int
    tokens_sha256: str  # of the tokens folder's manifest.json
    corpus_sha256: str  # of the documents shards it was made from
    validate: bool  # the val split has a window for every worker
    resume: SavedCheckpoint | None
    tokenizer: str  # the tokens folder's tokenizer kind
    train_tokens: int
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)  # lineage: hashes, corpus version, flow run


def plan_training(tokens_dir: Path, out_dir: Path, cfg: TrainConfig) -> TrainingPlan:
    """Check the inputs, an existing checkpoint and the Ray address; a clear error before any work otherwise."""
    address = ray_address(cfg.ray_address)
    check_ray(address, setting="ray_address")
    enable_ray_token(cfg.ray_token_file, create=address is None)  # a cluster's missing token fails here, not in Ray
    manifest = read_manifest(tokens_dir)
    model_config = cfg.model_config(manifest.vocab_size)
    train = TokenSplit.open(tokens_dir, "train")
    windows = Windows(train, model_config.block_size, cfg.workers).count
    if windows < cfg.batch_size * cfg.workers:
        raise TokenDataError(
            f"{tokens_dir}: the train split has {train.tokens:,} tokens, {windows} windows of "
            f"{model_config.block_size + 1}: fewer than one batch ({cfg.batch_size} sequences x {cfg.workers} "
            "workers); tokenize more text, or lower --batch-size or the context (--block-size)"
        )
    val_tokens = manifest.split_tokens("val")
    validate = val_tokens > (model_config.block_size + 1) * cfg.workers
    resume = latest_checkpoint(out_dir / CHECKPOINTS_DIR)
    tokens_sha256 = manifest.sha256
    if resume is not None:
        path, meta = resume
        check_compatible(meta, model_config, path)
        if meta.get("tokens_sha256") != tokens_sha256:
            raise ValueError(
                f"the checkpoint in {path} was trained on another tokens folder (or the folder changed since): "
                "train into a new --out"
            )
    with torch.device("meta"):  # counted without allocating: any size
        n_params = GPT(model_config).num_parameters()
    return TrainingPlan(
        model_config,
        n_params,
        tokens_sha256,
        corpus_sha256(manifest.inputs),
        validate,
        resume,
        manifest.tokenizer["kind"],
        train.tokens,
    )


def _init_ray(cfg: TrainConfig) -> bool:
    """Join the cluster at ``cfg.ray_address`` or start a local Ray, with the token authentication ``plan_training``
    turned on; True when this call connected (and so shuts down)."""
    address = ray_address(cfg.ray_address)
    import ray

    if ray.is_initialized():
        return False
    if address is None:
        # "local": a new cluster of our own, never one found on this machine (a `ray start` cluster, even a dead one
        # whose address Ray still remembers). Errors (a worker's crash, a restart) still show at log level ERROR.
        ray.init(address="local", include_dashboard=False, logging_config=ray.LoggingConfig(log_level="ERROR"))
        return True
    for attempt in range(1, CLIENT_ATTEMPTS + 1):
        try:  # the workers log to MLflow: a tracking server's credentials reach them through their environment
            ray.init(address=address, log_to_driver=True, runtime_env={"env_vars": credential_environment()})
            return True
        except (ConnectionError, RuntimeError, ValueError) as error:
            if not client_server_failed(str(error)) or attempt == CLIENT_ATTEMPTS:
                raise ConnectionError(f"cannot join the Ray cluster at {address!r}: {error}") from error
            logger.warning("Ray Client's server for this driver did not start (attempt %d); trying again", attempt)
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def _fit(tokens_dir: Path, out_dir: Path, cfg: TrainConfig, plan: TrainingPlan, uri: str, run_id: str) -> None:
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from training.worker import train_loop_per_worker

    meta = {
        "model_config": dataclasses.asdict(plan.model_config),
        "tokens_sha256": plan.tokens_sha256,
        "mlflow_run_id": run_id,
        "mlflow_uri": uri,
    }
    started = _init_ray(cfg)
    try:
        trainer = TorchTrainer(
            train_loop_per_worker,
            train_loop_config={
                "cfg": dataclasses.asdict(cfg),
                "model_config": dataclasses.asdict(plan.model_config),
                "tokens_dir": str(tokens_dir.resolve()),
                "validate": plan.validate,
                "mlflow_uri": uri,
                "mlflow_run_id": run_id,
                "meta": meta,
                # Ray Train V2 refuses resume_from_checkpoint (it restores its own run from storage_path/name);
                # the workers start from this one when Ray hands them none
                "resume_from": str(plan.resume.path.resolve()) if plan.resume else None,
            },
            scaling_config=ScalingConfig(
                num_workers=cfg.workers, use_gpu=cfg.gpu, resources_per_worker={"CPU": cfg.cpus_per_worker}
            ),
            run_config=RunConfig(
                name=RAY_RUN_NAME,
                storage_path=str((out_dir / CHECKPOINTS_DIR).resolve()),
                checkpoint_config=CheckpointConfig(num_to_keep=cfg.keep_checkpoints),
                failure_config=FailureConfig(max_failures=cfg.max_failures),
            ),
        )
        trainer.fit()
    finally:
        if started:
            ray.shutdown()


def run_training(
    tokens_dir: Path,
    out_dir: Path,
    cfg: TrainConfig,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> StageSummary:
    """Train (or resume) ``cfg.model`` on ``tokens_dir`` into ``out_dir``; returns the run's summary. The MLflow run
    gets the lineage tags of the tokens (``pipeline.lineage.lineage_tags``) plus ``tags`` (the flow's run id)."""
    clock = Stopwatch()
    plan = plan_training(tokens_dir, out_dir, cfg)
    plan = dataclasses.replace(plan, tags={**lineage_tags(tokens_dir), **(tags or {})})
    out_dir.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(cfg.mlflow_tracking_uri, out_dir)
    finished = plan.resume is not None and plan.resume.step >= cfg.max_steps
    recorded = read_json(out_dir / RUN_RECORD) or {}
    if plan.resume is not None:
        run_id = plan.resume.mlflow_run_id
    elif recorded.get("tracking_uri") == uri and recorded.get("tokens_sha256") == plan.tokens_sha256:
        run_id = recorded["run_id"]  # killed before its first checkpoint: start over in the same run
    else:
        params, tags = _params(tokens_dir, cfg, plan), _tags(cfg, plan)
        run_id = start_run(uri, cfg.experiment, run_name or f"train-{cfg.model}", params, tags)
        record = {"run_id": run_id, "tracking_uri": uri, "tokens_sha256": plan.tokens_sha256}
        atomic_write_json(out_dir / RUN_RECORD, record)
    if not finished:
        _fit(tokens_dir, out_dir, cfg, plan, uri, run_id)
    final = latest_checkpoint(out_dir / CHECKPOINTS_DIR)
    assert final is not None, "Ray Train returned without a checkpoint"
    if not (finished and _export_is_current(out_dir / HF_DIR, final.path)):  # a finished run's export: written once
        export = _export(final.path, tokens_dir, out_dir, plan, run_id, cfg.model)
        curve = loss_curve(uri, run_id, out_dir / LOSS_CURVE, f"{cfg.model} ({plan.n_params:,} parameters)")
        config_file = out_dir / "train_config.json"
        config = {"train": dataclasses.asdict(cfg), "model": dataclasses.asdict(plan.model_config)}
        atomic_write_json(config_file, config)
        if not finished:
            finish_run(uri, run_id, {"": curve, "config": config_file, HF_DIR: export}, _tags(cfg, plan))
    return _summary(out_dir, cfg, plan, uri, run_id, final, clock, skipped=finished)


def _export_is_current(export: Path, checkpoint: Path) -> bool:
    """The export in ``export`` was made from ``checkpoint`` and its weights are there."""
    metadata = read_json(export / METADATA_FILE) or {}
    return metadata.get("checkpoint") == str(checkpoint) and (export / WEIGHTS_FILE).is_file()


def _params(tokens_dir: Path, cfg: TrainConfig, plan: TrainingPlan) -> dict[str, Any]:
    return {
        **cfg.as_params(),
        **{f"model.{key}": value for key, value in dataclasses.asdict(plan.model_config).items()},
        "n_params": plan.n_params,
        "tokenizer": plan.tokenizer,
        "tokens_dir": str(tokens_dir.resolve()),
        "tokens_manifest_sha256": plan.tokens_sha256,
        "corpus_sha256": plan.corpus_sha256,
        "train_tokens": plan.train_tokens,
    }


def _tags(cfg: TrainConfig, plan: TrainingPlan) -> dict[str, str]:
    return {
        "model_size": cfg.model,
        "n_params": str(plan.n_params),
        "corpus_version": plan.tags.get(VERSION_TAG, plan.corpus_sha256[:12]),
        **plan.tags,
    }


def _export(checkpoint: Path, tokens_dir: Path, out_dir: Path, plan: TrainingPlan, run_id: str, size: str) -> Path:
    from training.export import export_hf

    model = GPT(plan.model_config)
    model.load_state_dict(model_weights(checkpoint))
    metadata = {
        "model_size": size,
        "n_params": model.num_parameters(),
        "mlflow_run_id": run_id,
        "tokens_manifest_sha256": plan.tokens_sha256,
        "corpus_sha256": plan.corpus_sha256,
        "corpus_version": plan.tags.get(VERSION_TAG),
        "checkpoint": str(checkpoint),
    }
    return export_hf(model, tokens_dir / TOKENIZER_DIR, out_dir / HF_DIR, metadata)


def _summary(
    out_dir: Path,
    cfg: TrainConfig,
    plan: TrainingPlan,
    uri: str,
    run_id: str,
    final: SavedCheckpoint,
    clock: Stopwatch,
    skipped: bool,
) -> StageSummary:
    last = {key: history(uri, run_id, key) for key in ("train_loss", "val_loss", "tokens_per_s")}
    first_loss = last["train_loss"][0][1] if last["train_loss"] else None
    return StageSummary(
        stage=STAGE,
        out_dir=str(out_dir),
        outcomes={},
        counts={"steps": final.step, "n_params": plan.n_params, "train_tokens": plan.train_tokens},
        units=1,
        units_skipped=int(skipped),
        seconds=clock.seconds(),
        details={
            "model": cfg.model,
            "first_train_loss": first_loss,
            "train_loss": last["train_loss"][-1][1] if last["train_loss"] else None,
            "val_loss": last["val_loss"][-1][1] if last["val_loss"] else None,
            "tokens_per_s": last["tokens_per_s"][-1][1] if last["tokens_per_s"] else None,
            "mlflow_tracking_uri": uri,
            "mlflow_run_id": run_id,
            "checkpoint": str(final.path),
            "hf": str(out_dir / HF_DIR),
        },
        config=dataclasses.asdict(cfg),
    ).write()
