"""LAMB under FSDP2 takes the same steps as on one unsharded model: its trust ratio is per whole tensor.

Each parameter is sharded across the ranks under FSDP2, so a norm over the local shard would give every rank
its own, wrong, trust ratio. Two gloo processes on CPU train a sharded copy of a small GPT with LAMB, beside an
unsharded copy fed the same batch; after each step the full parameters must agree.
"""

from __future__ import annotations

import copy
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from training.lamb import Lamb
from training.loop import parameter_groups
from training.model import GPT, GPTConfig

SHAPE = GPTConfig(vocab_size=64, block_size=16, n_layer=2, n_head=2, n_embd=32)
STEPS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def train_both(rank: int, world: int, port: int, out: str) -> None:
    from torch.distributed.fsdp import fully_shard

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        reference = GPT(SHAPE)
        sharded = copy.deepcopy(reference)
        for block in sharded.transformer.h:
            fully_shard(block)
        fully_shard(sharded)
        optimizers = [Lamb(parameter_groups(model, 0.1), lr=1e-2) for model in (reference, sharded)]
        generator = torch.Generator().manual_seed(1)
        worst = 0.0
        for _ in range(STEPS):
            x = torch.randint(0, SHAPE.vocab_size, (4, SHAPE.block_size), generator=generator)  # the same on each rank
            for model, optimizer in zip((reference, sharded), optimizers, strict=True):
                _, loss = model(x, x)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            full = {name: p.full_tensor() for name, p in sharded.named_parameters()}
            for name, parameter in reference.named_parameters():
                worst = max(worst, float((full[name] - parameter).abs().max()))
        if rank == 0:
            Path(out).write_text(str(worst))
    finally:
        dist.destroy_process_group()


@pytest.mark.e2e
def test_lamb_under_fsdp2_steps_like_lamb_on_one_model(tmp_path: Path) -> None:
    out = tmp_path / "worst.txt"
    mp.spawn(train_both, args=(2, free_port(), str(out)), nprocs=2, join=True)
    assert float(out.read_text()) < 1e-5
