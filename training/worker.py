"""The function every Ray Train worker runs: build the model, restore the latest checkpoint, train, report.

Ray Train V2 starts ``workers`` copies with a process group already set up (gloo on CPU, NCCL on GPU).
Every rank builds the same initial model (one seed), then wraps it: DDP by default, or FSDP2
(``fully_shard`` on each block and on the whole model: parameters, gradients and optimizer state
sharded). Each rank draws its own disjoint windows from the shard reader. Every ``checkpoint_every``
steps the full state goes to ``ray.train.report`` as a checkpoint; when a worker dies, Ray restarts the
group and this function resumes from the last one, at the same step and data position. Rank 0 logs to MLflow
through ``BufferedMetrics``: a tracking server that is away does not stop training, and the metrics it has not
taken yet travel in the checkpoints.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from training.checkpoint import load_checkpoint, save_checkpoint
from training.config import TrainConfig
from training.data import BlockSampler, TokenSplit, iter_blocks
from training.loop import build_optimizer, context_at, evaluate, mfu, peak_flops, seed_everything, train_step
from training.model import GPT, GPTConfig


def _mean_across_ranks(values: list[float], device: torch.device) -> list[float]:
    """Each value averaged over the workers (each worker holds its own micro-batches' figure)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return (tensor / dist.get_world_size()).tolist()


def _wrap(model: GPT, cfg: TrainConfig, device: torch.device, world_size: int) -> torch.nn.Module:
    """DDP (through Ray's prepare_model) or FSDP2; the plain model on one worker."""
    import ray.train.torch

    if cfg.parallelism == "fsdp":
        from torch.distributed.fsdp import fully_shard

        model.to(device)
        for block in model.transformer.h:
            fully_shard(block)
        fully_shard(model)
        return model
    return ray.train.torch.prepare_model(model, parallel_strategy="ddp" if world_size > 1 else None)


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train's entry point. ``config``: the TrainConfig and model shape as dicts, the tokens folder, the
    MLflow URI and run id, and the meta every checkpoint carries."""
    import ray.train
    import ray.train.torch

    cfg, shape = TrainConfig(**config["cfg"]), GPTConfig(**config["model_config"])
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    seed_everything(cfg.seed)  # the same initial weights on every rank
    raw = GPT(shape)
    raw.activation_checkpointing = cfg.activation_checkpointing
    model = _wrap(raw, cfg, device, world)
    optimizer = build_optimizer(model, cfg, device)
    tokens_dir = Path(config["tokens_dir"])
    sampler = BlockSampler(TokenSplit.open(tokens_dir, "train"), shape.block_size, rank, world, cfg.seed)
    val_split = TokenSplit.open(tokens_dir, "val") if config["validate"] else None
    start, undelivered = 0, []
    checkpoint = ray.train.get_checkpoint()  # after a worker failure, or Ray's own record of this run
    if checkpoint is None and config.get("resume_from"):  # the driver's latest checkpoint in --out
        checkpoint = ray.train.Checkpoint.from_directory(config["resume_from"])
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            restored = load_checkpoint(Path(directory), model, optimizer)
        sampler.load_state_dict(restored["sampler"])
        start, undelivered = restored["step"], restored["undelivered_metrics"]
    else:
        seed_everything(cfg.seed + 1 + rank)  # dropout draws differ between ranks
    logger = None
    if rank == 0:
        from training.metric_buffer import BufferedMetrics

        logger = BufferedMetrics(config["mlflow_uri"], config["mlflow_run_id"], pending=undelivered)
    runner = torch.compile(model) if cfg.compile else model
    accumulation = cfg.accumulation(shape.block_size, world)
    peak = peak_flops(device, cfg)
    interval_start, interval_tokens = time.perf_counter(), 0
    for step in range(start, cfg.max_steps):
        seq = context_at(step, cfg, shape.block_size)
        batches = [sampler.next_batch(cfg.batch_size) for _ in range(accumulation)]
        result = train_step(runner, optimizer, batches, step, cfg, device, seq)
        interval_tokens += result.tokens * world
        done = step + 1
        metrics: dict[str, float | None] = {}
        if done % cfg.log_every == 0 or done == cfg.max_steps or done == start + 1:
            seconds = time.perf_counter() - interval_start
            loss, grad_norm = _mean_across_ranks([result.loss, result.grad_norm], device)
            rate = interval_tokens / seconds
            metrics = {"train_loss": loss, "lr": result.lr, "grad_norm": grad_norm, "tokens_per_s": rate}
            metrics["mfu"] = mfu(rate, raw.flops_per_token(seq), world, peak)
            interval_start, interval_tokens = time.perf_counter(), 0
        if val_split is not None and (done % cfg.eval_every == 0 or done == cfg.max_steps):
            batches_val = iter_blocks(val_split, shape.block_size, cfg.batch_size, rank, world, cfg.eval_batches)
            (metrics["val_loss"],) = _mean_across_ranks([evaluate(model, batches_val, cfg, device) or 0.0], device)
        if logger is not None and metrics:
            logger.log(done, metrics)
        if done % cfg.checkpoint_every == 0 or done == cfg.max_steps:
            pending = logger.pending() if logger is not None else []
            _report_checkpoint(model, optimizer, done, sampler.state_dict(), config["meta"], metrics, rank, pending)
    if logger is not None:
        logger.close()  # every metric delivered before the run counts as finished


def _report_checkpoint(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    sampler: dict,
    meta: dict,
    metrics: dict,
    rank: int,
    undelivered: list,
) -> None:
    """Save the state after ``step`` steps and hand it to Ray Train (rank 0's copy; every rank reports)."""
    import ray.train

    with tempfile.TemporaryDirectory(prefix="webtext-checkpoint-") as directory:
        save_checkpoint(Path(directory), model, optimizer, step, sampler, meta, undelivered)
        checkpoint = ray.train.Checkpoint.from_directory(directory) if rank == 0 else None
        reported = {"step": step, **{key: value for key, value in metrics.items() if value is not None}}
        ray.train.report(reported, checkpoint=checkpoint, checkpoint_dir_name=f"step-{step:08d}")
