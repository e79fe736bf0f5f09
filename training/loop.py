"""The training step and its pieces, in torch alone: the Ray loop and the plain-process benchmark both call them.

One optimizer step: ``accumulation`` micro-batches (gradients summed, synchronised across workers only on
the last one), the global gradient norm clipped, the learning rate of this step set, the optimizer
stepped. AdamW decays only the weight matrices of the blocks, never norms, biases or embeddings (GPT-2's
and nanoGPT's practice); fused kernels on GPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from training.lamb import Lamb

if TYPE_CHECKING:  # the step imports torch and numpy only: a GPU benchmark runs with PyTorch alone
    from training.config import TrainConfig

Batch = tuple[np.ndarray, np.ndarray]  # (x, y), each (B, T) int64
# Dense bf16 peak of one device, TFLOP/s, by a name its torch.cuda.get_device_name() contains.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "4090": 165.0}


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Decay the matrices of the blocks; not norms, biases or the (tied) embeddings."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        is_embedding = "wte" in name or "wpe" in name
        (decay if parameter.dim() >= 2 and not is_embedding else no_decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    groups = parameter_groups(model, cfg.weight_decay)
    betas = (cfg.beta1, cfg.beta2)
    if cfg.optimizer == "lamb":
        return Lamb(groups, lr=cfg.peak_lr(), betas=betas)
    return torch.optim.AdamW(groups, lr=cfg.peak_lr(), betas=betas, fused=device.type == "cuda")


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to the peak, then a cosine decay to ``min_lr_ratio`` of it at ``max_steps``."""
    warmup, peak = cfg.warmup_steps(), cfg.peak_lr()
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, cfg.max_steps - warmup)
    floor = peak * cfg.min_lr_ratio
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def context_at(step: int, cfg: TrainConfig, block_size: int) -> int:
    """The sequence length of ``step``: the short warm-up context first, if asked, then the full one."""
    return cfg.seq_warmup_context if step < cfg.seq_warmup_steps else block_size


def to_sequences(batch: Batch, context: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of full windows as tensors, each window cut into ``T // context`` sequences when shorter."""
    x, y = (torch.from_numpy(array) for array in batch)  # (B, T)
    if context < x.size(1):
        x, y = x.reshape(-1, context), y.reshape(-1, context)  # (B * T / context, context); y stays x shifted
    non_blocking = device.type == "cuda"
    return x.to(device, non_blocking=non_blocking), y.to(device, non_blocking=non_blocking)


def autocast(device: torch.device, cfg: TrainConfig) -> contextlib.AbstractContextManager:
    """bf16 autocast on GPU (``auto``) or when asked; plain fp32 otherwise."""
    use_bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")
    if not use_bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _gradient_sync(model: nn.Module, enabled: bool) -> contextlib.AbstractContextManager:
    """DDP and FSDP2 reduce gradients on every backward unless told otherwise: only the last micro-batch syncs."""
    if hasattr(model, "no_sync") and not enabled:
        return model.no_sync()
    if hasattr(model, "set_requires_gradient_sync"):
        model.set_requires_gradient_sync(enabled)
    return contextlib.nullcontext()


@dataclasses.dataclass(slots=True)
class StepResult:
    loss: float  # mean over the micro-batches of this worker
    grad_norm: float
    lr: float
    tokens: int  # tokens this worker trained on


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    micro_batches: Iterable[Batch],
    step: int,
    cfg: TrainConfig,
    device: torch.device,
    context: int,
) -> StepResult:
    """One optimizer step over ``micro_batches`` (their gradients averaged)."""
    batches = list(micro_batches)
    lr = learning_rate(step, cfg)
    for group in optimizer.param_groups:
        group["lr"] = lr
    total, tokens = torch.zeros((), device=device), 0
    for number, batch in enumerate(batches):
        x, y = to_sequences(batch, context, device)
        with _gradient_sync(model, enabled=number == len(batches) - 1), autocast(device, cfg):
            _, loss = model(x, y)
            (loss / len(batches)).backward()
        total += loss.detach()
        tokens += y.numel()
    grad_norm = _clip(model, cfg.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return StepResult(float(total) / len(batches), grad_norm, lr, tokens)


def _clip(model: nn.Module, max_norm: float) -> float:
    """Clip the global gradient norm (the true norm over all shards under FSDP2); returns it before clipping."""
    parameters = [parameter for parameter in model.parameters() if parameter.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm if max_norm > 0 else float("inf"))
    if hasattr(norm, "full_tensor"):  # a DTensor under FSDP2
        norm = norm.full_tensor()
    return float(norm)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterator[Batch], cfg: TrainConfig, device: torch.device) -> float | None:
    """Mean loss over ``batches`` (of this worker); None when there are none."""
    model.eval()
    losses = []
    for batch in batches:
        x, y = to_sequences(batch, batch[0].shape[1], device)
        with autocast(device, cfg):
            _, loss = model(x, y)
        losses.append(float(loss))
    model.train()
    return sum(losses) / len(losses) if losses else None


def peak_flops(device: torch.device, cfg: TrainConfig) -> float | None:
    """Peak FLOP/s of one device for MFU: the configured figure, else the dense bf16 peak of a known GPU."""
    if cfg.peak_tflops is not None:
        return cfg.peak_tflops * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tflops * 1e12 for key, tflops in PEAK_BF16_TFLOPS.items() if key in name), None)


def mfu(tokens_per_s: float, flops_per_token: float, devices: int, peak: float | None) -> float | None:
    """Model FLOPs utilisation: achieved training FLOP/s over the peak of all devices."""
    return None if peak is None else tokens_per_s * flops_per_token / (devices * peak)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
