"""Training checkpoints: everything a run needs to continue bit for bit, in one directory Ray Train stores.

``state.pt`` holds the full (unsharded) model and optimizer state dicts, keyed by parameter name,
gathered through ``torch.distributed.checkpoint.state_dict`` so DDP, FSDP2 and a single process write
the same thing; the step; the data sampler's position; every rank's RNG state; the metrics not yet delivered
to MLflow (``metric_buffer``), so that a restart sends them again. ``meta.json`` (step,
model shape, tokens folder fingerprint, MLflow run) lets a driver choose and check a checkpoint without
loading it. Rank 0 writes; every rank calls (the gathers are collective).
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict

from training.model import GPTConfig
from training.run_folder import META_FILE, STATE_FILE


class SavedCheckpoint(NamedTuple):
    """A complete checkpoint on disk: its folder and its ``meta.json``."""

    path: Path
    meta: dict[str, Any]

    @property
    def step(self) -> int:
        return self.meta["step"]

    @property
    def mlflow_run_id(self) -> str:
        """The MLflow run the checkpoint's training logs to."""
        return self.meta["mlflow_run_id"]


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def save_checkpoint(
    directory: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    sampler: dict,
    meta: dict,
    undelivered_metrics: list | None = None,
) -> None:
    """Write the checkpoint of the state after ``step`` optimizer steps into ``directory`` (rank 0 writes)."""
    options = StateDictOptions(full_state_dict=True, cpu_offload=_distributed())
    model_state, optimizer_state = get_state_dict(model, optimizer, options=options)
    rng = [None] * dist.get_world_size() if _distributed() else None
    if rng is not None:
        dist.all_gather_object(rng, _rng_state())
    if _distributed() and dist.get_rank() != 0:
        return
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model_state,
        "optimizer": optimizer_state,
        "step": step,
        "sampler": sampler,
        "rng": rng or [_rng_state()],
        "undelivered_metrics": undelivered_metrics or [],
    }
    torch.save(state, directory / STATE_FILE)
    (directory / META_FILE).write_text(json.dumps({"step": step, **meta}, indent=2, sort_keys=True) + "\n")


def load_checkpoint(directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore the model, the optimizer and this rank's RNG from ``directory``; returns the step, the sampler's
    state and the metrics that were not yet delivered."""
    state = torch.load(directory / STATE_FILE, map_location="cpu", weights_only=False)
    options = StateDictOptions(full_state_dict=True)
    set_state_dict(
        model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"], options=options
    )
    rank = dist.get_rank() if _distributed() else 0
    rng = state["rng"]
    if len(rng) == (dist.get_world_size() if _distributed() else 1):
        _set_rng_state(rng[rank])  # the same layout: each rank continues its own stream
    return {
        "step": state["step"],
        "sampler": state["sampler"],
        "undelivered_metrics": state.get("undelivered_metrics", []),
    }


def read_meta(directory: Path) -> dict[str, Any] | None:
    """A checkpoint's ``meta.json``, or None when it is not a complete checkpoint."""
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return meta if isinstance(meta, dict) and (directory / STATE_FILE).is_file() else None


def latest_checkpoint(root: Path) -> SavedCheckpoint | None:
    """The complete checkpoint with the most steps under ``root`` (Ray's checkpoint folders), if any."""
    found = [(path.parent, read_meta(path.parent)) for path in root.rglob(META_FILE)] if root.is_dir() else []
    complete = [SavedCheckpoint(path, meta) for path, meta in found if meta is not None]
    return max(complete, key=lambda checkpoint: checkpoint.meta["step"]) if complete else None


def model_weights(directory: Path) -> dict[str, torch.Tensor]:
    """The model's state dict alone, for export or evaluation. The file is memory-mapped: only the model's tensors
    are read, never the optimizer's (twice the model's size under AdamW)."""
    return torch.load(directory / STATE_FILE, map_location="cpu", weights_only=False, mmap=True)["model"]


def check_compatible(meta: dict[str, Any], model_config: GPTConfig, where: Path) -> None:
    """A checkpoint of another model shape or vocabulary cannot be resumed: say so before any work starts."""
    saved, wanted = meta.get("model_config"), dataclasses.asdict(model_config)
    if saved != wanted:
        differences = {key: (saved.get(key) if saved else None, value) for key, value in wanted.items()}
        shown = ", ".join(f"{key}: {old} there, {new} now" for key, (old, new) in differences.items() if old != new)
        raise ValueError(
            f"the checkpoint in {where} is of another model ({shown}): train into a new --out, or with the same "
            "model settings and tokens folder"
        )
