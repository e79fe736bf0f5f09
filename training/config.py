"""Configuration of a training run, validated when it is built (the CLI flags and the YAML section derive from it)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from pipeline.settings import setting
from pipeline.validation import check_range
from training.shapes import SIZES, GPTConfig

OPTIMIZERS = ("adamw", "lamb")
PARALLELISMS = ("ddp", "fsdp")
PRECISIONS = ("auto", "fp32", "bf16")
# Peak learning rates by size: GPT-3's table (Brown et al. 2020, table 2.1) for the GPT-2 sizes; higher for the
# CPU presets, small enough to be stable and large enough to learn visibly in a few dozen steps.
LEARNING_RATES = {"tiny": 3e-3, "mini": 2e-3, "124M": 6e-4, "350M": 3e-4, "774M": 2.5e-4, "1558M": 2e-4}


@dataclasses.dataclass(frozen=True, slots=True)
class TrainConfig:
    """One model trained on one tokens folder: its size, the optimisation, the Ray layout, checkpoints, tracking.

    The schedule scales with ``max_steps``: a linear warm-up over ``warmup_fraction`` of the steps, then a
    cosine decay to ``min_lr_ratio`` of ``learning_rate``. Each optimizer step sees ``tokens_per_step``
    tokens (gradient accumulation over micro-batches of ``batch_size`` sequences per worker), or one
    micro-batch per worker when it is unset. ``workers``, ``cpus_per_worker``, ``ray_address`` and
    ``max_failures`` change where it runs, never the numbers (a different ``workers`` changes the batch).
    """

    model: str = setting("tiny", choices=tuple(SIZES), help="model size: " + ", ".join(SIZES))
    n_layer: int | None = setting(None, help="override the size's layers")
    n_head: int | None = setting(None, help="override the size's attention heads")
    n_embd: int | None = setting(None, help="override the size's width")
    block_size: int | None = setting(None, help="override the size's context length")
    dropout: float = setting(0.0, help="dropout on embeddings, attention and residuals")
    max_steps: int = setting(1000, help="optimizer steps; the warm-up and cosine schedule scale with it")
    batch_size: int = setting(8, help="sequences per micro-batch on each worker")
    tokens_per_step: int | None = setting(
        None, help="tokens per optimizer step (gradient accumulation); none: one micro-batch per worker"
    )
    learning_rate: float | None = setting(None, help="peak learning rate; none: the size's (GPT-3's table; 3e-3 tiny)")
    min_lr_ratio: float = setting(0.1, help="the cosine decays to this share of the peak")
    warmup_fraction: float = setting(0.05, help="share of max_steps spent warming up linearly")
    weight_decay: float = setting(0.1, help="AdamW/LAMB weight decay (never on norms, biases or embeddings)")
    beta1: float = setting(0.9, help="Adam beta1")
    beta2: float = setting(0.95, help="Adam beta2")
    grad_clip: float = setting(1.0, help="clip the global gradient norm to this (0: off)")
    optimizer: str = setting("adamw", choices=OPTIMIZERS, help="adamw, or lamb for very large batches")
    seq_warmup_steps: int = setting(0, help="steps trained at seq_warmup_context before the full context (0: off)")
    seq_warmup_context: int = setting(128, help="the short context of the sequence-length warm-up")
    precision: str = setting("auto", choices=PRECISIONS, help="auto: bf16 autocast on GPU, fp32 on CPU")
    compile: bool = setting(False, help="torch.compile the model")
    activation_checkpointing: bool = setting(False, help="recompute each block's activations in backward")
    parallelism: str = setting("ddp", choices=PARALLELISMS, help="ddp (replicas) or fsdp (FSDP2: sharded)")
    workers: int = setting(1, help="Ray Train workers (one per GPU with --gpu)")
    gpu: bool = setting(False, help="train on GPUs (NCCL); else CPUs (gloo)")
    cpus_per_worker: int = setting(1, help="CPUs Ray reserves for each worker")
    ray_address: str | None = setting(None, help="a Ray cluster (ray://HOST:10001 or HOST:6379); none: local Ray")
    ray_token_file: Path | None = setting(
        None, help="the Ray token's file (mode 0600); none: $RAY_AUTH_TOKEN_PATH, else ~/.ray/auth_token"
    )
    max_failures: int = setting(2, help="restarts from the last checkpoint after a worker dies")
    eval_every: int = setting(50, help="validation loss every this many steps (and at the end)")
    eval_batches: int = setting(20, help="micro-batches of the validation split per evaluation, at most")
    log_every: int = setting(10, help="log metrics every this many steps")
    checkpoint_every: int = setting(100, help="checkpoint every this many steps (and at the end)")
    keep_checkpoints: int = setting(3, help="checkpoints kept (the latest ones)")
    seed: int = setting(1337, help="seeds the initialisation, dropout and the data order")
    peak_tflops: float | None = setting(None, help="peak TFLOP/s per device for MFU; none: known GPUs only")
    mlflow_tracking_uri: str | None = setting(
        None, help="MLflow tracking URI; none: $MLFLOW_TRACKING_URI, else sqlite mlflow.db in --out"
    )
    experiment: str = setting("webtext", help="MLflow experiment shared by train, evaluate and compare")

    def __post_init__(self) -> None:
        if self.model not in SIZES:
            raise ValueError(f"model must be one of {', '.join(SIZES)}, got {self.model!r}")
        for name in ("n_layer", "n_head", "n_embd", "block_size"):
            if getattr(self, name) is not None:
                check_range(name, getattr(self, name), 1, 1_000_000, integer=True)
        for name, choices in (("optimizer", OPTIMIZERS), ("parallelism", PARALLELISMS), ("precision", PRECISIONS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        check_range("dropout", self.dropout, 0.0, 0.99)
        for name in ("max_steps", "batch_size", "workers", "cpus_per_worker", "eval_every", "log_every"):
            check_range(name, getattr(self, name), 1, 10**12, integer=True)
        for name in ("checkpoint_every", "keep_checkpoints", "eval_batches", "seq_warmup_context"):
            check_range(name, getattr(self, name), 1, 10**12, integer=True)
        check_range("max_failures", self.max_failures, -1, 10**6, integer=True)
        check_range("seq_warmup_steps", self.seq_warmup_steps, 0, 10**12, integer=True)
        if self.tokens_per_step is not None:
            check_range("tokens_per_step", self.tokens_per_step, 1, 10**12, integer=True)
        if self.learning_rate is not None:
            check_range("learning_rate", self.learning_rate, 0.0, 10.0)
        check_range("min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)
        check_range("warmup_fraction", self.warmup_fraction, 0.0, 1.0)
        check_range("weight_decay", self.weight_decay, 0.0, 10.0)
        check_range("beta1", self.beta1, 0.0, 0.9999)
        check_range("beta2", self.beta2, 0.0, 0.9999)
        check_range("grad_clip", self.grad_clip, 0.0, 10**6)
        check_range("seed", self.seed, 0, 2**31 - 1, integer=True)
        if self.peak_tflops is not None:
            check_range("peak_tflops", self.peak_tflops, 1e-6, 1e9)
        if not self.experiment.strip():
            raise ValueError("experiment must be a non-empty MLflow experiment name")
        context = self.block_size or SIZES[self.model][3]
        if self.seq_warmup_steps and context % self.seq_warmup_context:
            raise ValueError(
                f"seq_warmup_context ({self.seq_warmup_context}) must divide the context ({context}): each "
                "full-length window is cut into shorter sequences during the warm-up"
            )

    def model_config(self, vocab_size: int) -> GPTConfig:
        """The model's shape for a tokenizer of ``vocab_size`` ids (the named size, with any override)."""
        overrides = {name: getattr(self, name) for name in ("n_layer", "n_head", "n_embd", "block_size")}
        overrides = {name: value for name, value in overrides.items() if value is not None}
        return GPTConfig.named(self.model, vocab_size, dropout=self.dropout, **overrides)

    def peak_lr(self) -> float:
        return self.learning_rate if self.learning_rate is not None else LEARNING_RATES[self.model]

    def warmup_steps(self) -> int:
        return max(1, round(self.warmup_fraction * self.max_steps)) if self.warmup_fraction else 0

    def accumulation(self, context: int, world_size: int) -> int:
        """Micro-batches per optimizer step on each worker, to reach ``tokens_per_step`` (at least one)."""
        if self.tokens_per_step is None:
            return 1
        return max(1, math.ceil(self.tokens_per_step / (self.batch_size * context * world_size)))

    def as_params(self) -> dict[str, Any]:
        """Every setting, for MLflow's params (None written as 'none')."""
        return {key: "none" if value is None else value for key, value in dataclasses.asdict(self).items()}
