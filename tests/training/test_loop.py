"""The training step and its pieces in one process, no Ray: the schedule, the parameter groups, gradient
accumulation and clipping, the sequence-length warm-up, LAMB, the config's checks, a checkpoint that resumes
bit for bit, and the ``tiny`` preset learning from the sample's texts."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from training.checkpoint import load_checkpoint, save_checkpoint
from training.config import LEARNING_RATES, TrainConfig
from training.data import BlockSampler, TokenSplit
from training.lamb import Lamb
from training.loop import (
    build_optimizer,
    context_at,
    learning_rate,
    mfu,
    parameter_groups,
    seed_everything,
    to_sequences,
    train_step,
)
from training.model import GPT, GPTConfig

CPU = torch.device("cpu")
SMALL = GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=100)


def vocab_size(tokens_dir: Path) -> int:
    return json.loads((tokens_dir / "manifest.json").read_text())["tokenizer"]["vocab_size"]


def random_batch(batch: int, time: int, vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``time + 1`` random ids cut as the sampler cuts them: ``y`` is ``x`` shifted by one."""
    windows = np.random.default_rng(seed).integers(0, vocab, size=(batch, time + 1), dtype=np.int64)
    return np.ascontiguousarray(windows[:, :-1]), np.ascontiguousarray(windows[:, 1:])


def fresh_model(config: GPTConfig = SMALL, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(config)


# The schedule


def test_warmup_rises_linearly_to_the_peak_then_the_cosine_reaches_the_floor_at_max_steps() -> None:
    cfg = TrainConfig(model="tiny", max_steps=200, warmup_fraction=0.1, learning_rate=1e-3, min_lr_ratio=0.1)
    assert cfg.warmup_steps() == 20
    warmup = [learning_rate(step, cfg) for step in range(20)]
    assert warmup == pytest.approx([1e-3 * (step + 1) / 20 for step in range(20)])
    assert learning_rate(19, cfg) == pytest.approx(1e-3)  # the last warm-up step reaches the peak
    assert learning_rate(20, cfg) == pytest.approx(1e-3)  # where the cosine starts
    assert learning_rate(110, cfg) == pytest.approx(1e-4 + 0.5 * (1e-3 - 1e-4))  # halfway: the mean of peak, floor
    decay = [learning_rate(step, cfg) for step in range(20, 201)]
    assert all(later < earlier for earlier, later in itertools.pairwise(decay))
    assert learning_rate(200, cfg) == pytest.approx(1e-4)  # min_lr_ratio of the peak at max_steps
    assert learning_rate(10_000, cfg) == pytest.approx(1e-4)  # and stays there


def test_the_schedule_scales_with_max_steps() -> None:
    short, long = TrainConfig(max_steps=1000), TrainConfig(max_steps=4000)
    assert (short.warmup_steps(), long.warmup_steps()) == (50, 200)  # 5% by default
    for step in range(50, 1001, 50):  # after the warm-up the same fraction of the run has the same rate
        assert learning_rate(4 * step, long) == pytest.approx(learning_rate(step, short), rel=1e-12)
    for step in range(50):
        assert learning_rate(4 * step + 3, long) == pytest.approx(learning_rate(step, short))
    assert TrainConfig(warmup_fraction=0.0).warmup_steps() == 0
    assert learning_rate(0, TrainConfig(warmup_fraction=0.0)) == pytest.approx(LEARNING_RATES["tiny"])
    assert TrainConfig(max_steps=3, warmup_fraction=0.01).warmup_steps() == 1  # never rounds down to none


def test_the_default_peak_depends_on_the_size_and_an_explicit_rate_wins() -> None:
    assert TrainConfig(model="tiny").peak_lr() == 3e-3
    assert TrainConfig(model="124M").peak_lr() == 6e-4  # GPT-3's table for GPT-2 small
    assert TrainConfig(model="1558M").peak_lr() == 2e-4
    assert [TrainConfig(model=size).peak_lr() for size in LEARNING_RATES] == sorted(LEARNING_RATES.values())[::-1]
    assert TrainConfig(model="124M", learning_rate=1e-3).peak_lr() == 1e-3
    cfg = TrainConfig(model="124M", max_steps=100, warmup_fraction=0.1)
    assert max(learning_rate(step, cfg) for step in range(100)) == pytest.approx(6e-4)


# Parameter groups


def test_weight_decay_applies_to_block_matrices_only_and_the_tied_embedding_is_counted_once() -> None:
    model = fresh_model()
    decay, no_decay = parameter_groups(model, 0.1)
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.1, 0.0)
    names = {id(parameter): name for name, parameter in model.named_parameters()}
    decayed = {names[id(parameter)] for parameter in decay["params"]}
    suffixes = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    assert decayed == {f"transformer.h.{i}.{suffix}" for i in range(SMALL.n_layer) for suffix in suffixes}
    kept = {names[id(parameter)] for parameter in no_decay["params"]}
    assert {"transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight"} <= kept
    assert all(
        name.endswith(("bias", "ln_1.weight", "ln_2.weight", "ln_f.weight", "wte.weight", "wpe.weight"))
        for name in kept
    )
    grouped = [*decay["params"], *no_decay["params"]]
    assert len({id(parameter) for parameter in grouped}) == len(grouped)  # nothing twice
    assert model.lm_head.weight is model.transformer.wte.weight  # tied: one tensor, in one group
    assert sum(parameter.numel() for parameter in grouped) == model.num_parameters(count_padding=True)
    optimizer = build_optimizer(model, TrainConfig(weight_decay=0.1), CPU)
    assert [group["weight_decay"] for group in optimizer.param_groups] == [0.1, 0.0]


# The step


def _sgd_step(batches: list[tuple[np.ndarray, np.ndarray]], cfg: TrainConfig) -> tuple[float, float, dict]:
    """One train_step with plain SGD (the update is -lr * gradient): its loss, norm and parameter deltas."""
    model = fresh_model()
    before = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}  # tied: once
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    result = train_step(model, optimizer, batches, 0, cfg, CPU, SMALL.block_size)
    deltas = {name: (parameter.detach() - before[name]) / -result.lr for name, parameter in model.named_parameters()}
    return result.loss, result.grad_norm, deltas


def test_gradient_accumulation_matches_one_big_batch() -> None:
    cfg = TrainConfig(learning_rate=0.5, warmup_fraction=0.0, grad_clip=0.0)
    x, y = random_batch(8, SMALL.block_size, SMALL.vocab_size, seed=1)
    loss_one, norm_one, grad_one = _sgd_step([(x, y)], cfg)
    loss_two, norm_two, grad_two = _sgd_step([(x[:4], y[:4]), (x[4:], y[4:])], cfg)
    assert loss_two == pytest.approx(loss_one, rel=1e-5)
    assert norm_two == pytest.approx(norm_one, rel=1e-4)
    for name in grad_one:
        torch.testing.assert_close(grad_two[name], grad_one[name], rtol=1e-4, atol=1e-6)
    # and with AdamW, as the run builds it: the same update (Adam's first step, lr * g / (|g| + eps), magnifies
    # float noise where g is near eps, hence the tolerance in units of lr)
    adam = dataclasses.replace(cfg, learning_rate=1e-3)
    updates = []
    for batches in ([(x, y)], [(x[:4], y[:4]), (x[4:], y[4:])]):
        model = fresh_model()
        before = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
        train_step(model, build_optimizer(model, adam, CPU), batches, 0, adam, CPU, SMALL.block_size)
        updates.append({name: (p.detach() - before[name]) / 1e-3 for name, p in model.named_parameters()})
    for name in updates[0]:
        torch.testing.assert_close(updates[1][name], updates[0][name], rtol=0, atol=1e-2)


def test_clipping_returns_the_norm_before_clipping_and_scales_the_gradient_to_the_limit() -> None:
    batch = random_batch(4, SMALL.block_size, SMALL.vocab_size, seed=2)
    cfg = TrainConfig(learning_rate=0.5, warmup_fraction=0.0)
    _, unclipped_norm, gradient = _sgd_step([batch], dataclasses.replace(cfg, grad_clip=0.0))
    true_norm = math.sqrt(sum(float(g.double().pow(2).sum()) for g in gradient.values()))
    assert unclipped_norm == pytest.approx(true_norm, rel=1e-4)
    limit = unclipped_norm / 10
    _, reported, clipped = _sgd_step([batch], dataclasses.replace(cfg, grad_clip=limit))
    assert reported == pytest.approx(unclipped_norm, rel=1e-5)  # the norm before clipping is what gets logged
    clipped_norm = math.sqrt(sum(float(g.double().pow(2).sum()) for g in clipped.values()))
    assert clipped_norm == pytest.approx(limit, rel=1e-3)
    for name in gradient:  # same direction, a tenth of the length
        torch.testing.assert_close(clipped[name], gradient[name] * limit / unclipped_norm, rtol=1e-3, atol=1e-6)
    _, _, loose = _sgd_step([batch], dataclasses.replace(cfg, grad_clip=unclipped_norm * 10))
    for name in gradient:  # a limit above the norm changes nothing
        torch.testing.assert_close(loose[name], gradient[name], rtol=1e-5, atol=1e-6)


def test_sequence_length_warmup_cuts_each_window_into_shorter_sequences() -> None:
    cfg = TrainConfig(seq_warmup_steps=10, seq_warmup_context=64, block_size=256)
    assert [context_at(step, cfg, 256) for step in (0, 9, 10, 500)] == [64, 64, 256, 256]
    assert context_at(0, TrainConfig(), 256) == 256  # off by default
    x, y = random_batch(3, 256, SMALL.vocab_size, seed=3)
    xs, ys = to_sequences((x, y), 64, CPU)
    assert xs.shape == ys.shape == (12, 64)  # (B * T / context, context)
    assert torch.equal(xs.reshape(3, 256), torch.from_numpy(x))  # the same tokens, in order
    assert torch.equal(xs[:, 1:], ys[:, :-1])  # y is still x shifted by one inside every sequence
    assert torch.equal(ys.reshape(3, 256), torch.from_numpy(y))
    full_x, full_y = to_sequences((x, y), 256, CPU)
    assert full_x.shape == (3, 256) and torch.equal(full_y, torch.from_numpy(y))
    with pytest.raises(ValueError, match="seq_warmup_context"):
        TrainConfig(seq_warmup_steps=10, seq_warmup_context=100)  # 100 does not divide tiny's 256
    model = fresh_model(dataclasses.replace(SMALL, block_size=64))
    result = train_step(model, build_optimizer(model, cfg, CPU), [(x[:, :64], y[:, :64])], 0, cfg, CPU, 16)
    assert result.tokens == 3 * 64 and math.isfinite(result.loss)


def test_accumulation_reaches_tokens_per_step() -> None:
    assert TrainConfig(batch_size=8).accumulation(256, 4) == 1  # unset: one micro-batch per worker
    cfg = TrainConfig(batch_size=8, tokens_per_step=8 * 256 * 4 * 5)
    assert cfg.accumulation(256, 4) == 5
    assert cfg.accumulation(256, 20) == 1
    assert cfg.accumulation(128, 4) == 10  # a shorter context: more micro-batches for the same tokens
    assert TrainConfig(batch_size=8, tokens_per_step=8 * 256 * 4 * 5 + 1).accumulation(256, 4) == 6  # rounded up
    assert TrainConfig(batch_size=8, tokens_per_step=100).accumulation(256, 4) == 1  # never fewer than one
    assert TrainConfig(model="124M", batch_size=12, tokens_per_step=491_520).accumulation(1024, 8) == 5  # GPT-2


def test_mfu_is_achieved_over_peak_flops() -> None:
    assert mfu(1000.0, 6e9, 2, 1e13) == pytest.approx(1000 * 6e9 / 2e13)
    assert mfu(1000.0, 6e9, 2, None) is None


# LAMB


def test_lamb_moves_each_tensor_by_lr_times_its_norm_and_fits_a_regression() -> None:
    torch.manual_seed(0)
    weight = nn.Parameter(torch.randn(8, 4))
    bias = nn.Parameter(torch.zeros(8))
    optimizer = Lamb([weight, bias], lr=0.01, weight_decay=0.01)
    inputs = torch.randn(256, 4)
    targets = inputs @ torch.randn(4, 8) + 0.5

    def loss_fn() -> torch.Tensor:
        return ((inputs @ weight.T + bias - targets) ** 2).mean()

    loss_fn().backward()
    before_w, before_b = weight.detach().clone(), bias.detach().clone()
    optimizer.step()
    # the trust ratio ||w|| / ||update|| bounds the step to lr * ||w||, whatever the gradient's scale
    assert float((weight.detach() - before_w).norm()) == pytest.approx(0.01 * float(before_w.norm()), rel=1e-4)
    # a zero tensor has no norm to scale by: the plain Adam step (first step: lr * sign of the gradient)
    assert float((bias.detach() - before_b).abs().max()) == pytest.approx(0.01, rel=1e-3)
    first = loss_fn().item()
    for _ in range(300):
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()
    assert loss_fn().item() < 0.05 * first
    # the trust ratio, not the gradient, sets the step size: a gradient 1000x larger moves as far
    huge = nn.Parameter(before_w.clone())
    scaled = Lamb([huge], lr=0.01)
    (1000 * ((inputs @ huge.T - targets) ** 2).mean()).backward()
    scaled.step()
    assert float((huge.detach() - before_w).norm()) == pytest.approx(0.01 * float(before_w.norm()), rel=1e-4)


# The config's checks


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"model": "huge"}, "model"),
        ({"max_steps": 0}, "max_steps"),
        ({"batch_size": -1}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"min_lr_ratio": 1.5}, "min_lr_ratio"),
        ({"warmup_fraction": 2.0}, "warmup_fraction"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"parallelism": "zero3"}, "parallelism"),
        ({"precision": "fp16"}, "precision"),
        ({"dropout": 1.0}, "dropout"),
        ({"workers": 0}, "workers"),
        ({"tokens_per_step": 0}, "tokens_per_step"),
        ({"n_layer": 0}, "n_layer"),
        ({"grad_clip": -1.0}, "grad_clip"),
        ({"beta2": 1.0}, "beta2"),
        ({"max_failures": -2}, "max_failures"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
        ({"seq_warmup_steps": 5, "seq_warmup_context": 96}, "seq_warmup_context"),
        ({"experiment": "  "}, "experiment"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(settings: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        TrainConfig(**settings)


def test_every_setting_becomes_an_mlflow_param() -> None:
    params = TrainConfig(learning_rate=None).as_params()
    assert set(params) == {field.name for field in dataclasses.fields(TrainConfig)}
    assert params["learning_rate"] == "none" and params["model"] == "tiny"


# Learning, and resuming


def test_tiny_with_default_settings_loses_over_a_nat_in_60_steps(sample_tokens: Path) -> None:
    cfg = TrainConfig(model="tiny", max_steps=60)  # everything else as a run gets it: batch 8, context 256, 3e-3
    shape = cfg.model_config(vocab_size(sample_tokens))
    seed_everything(cfg.seed)
    model = GPT(shape)
    optimizer = build_optimizer(model, cfg, CPU)
    sampler = BlockSampler(TokenSplit.open(sample_tokens, "train"), shape.block_size, seed=cfg.seed)
    losses = [
        train_step(model, optimizer, [sampler.next_batch(cfg.batch_size)], step, cfg, CPU, shape.block_size).loss
        for step in range(cfg.max_steps)
    ]
    assert losses[0] == pytest.approx(math.log(shape.vocab_size), abs=0.1)  # uniform at the start
    assert sum(losses[-5:]) / 5 < losses[0] - 1.0, losses


def _trainer(tokens: Path, cfg: TrainConfig) -> tuple[GPT, torch.optim.Optimizer, BlockSampler]:
    seed_everything(cfg.seed)
    model = GPT(cfg.model_config(vocab_size(tokens)))
    sampler = BlockSampler(TokenSplit.open(tokens, "train"), model.config.block_size, seed=cfg.seed)
    return model, build_optimizer(model, cfg, CPU), sampler


def _step(model: GPT, optimizer: torch.optim.Optimizer, sampler: BlockSampler, step: int, cfg: TrainConfig) -> float:
    batches = [sampler.next_batch(cfg.batch_size) for _ in range(cfg.accumulation(model.config.block_size, 1))]
    return train_step(model, optimizer, batches, step, cfg, CPU, model.config.block_size).loss


def test_a_checkpoint_resumes_bit_for_bit(sample_tokens: Path, tmp_path: Path) -> None:
    # dropout draws random numbers every step: equal losses need the RNG state restored too
    cfg = TrainConfig(model="tiny", block_size=64, batch_size=4, dropout=0.1, max_steps=20, tokens_per_step=512)
    model, optimizer, sampler = _trainer(sample_tokens, cfg)
    for step in range(3):
        _step(model, optimizer, sampler, step, cfg)
    save_checkpoint(tmp_path, model, optimizer, 3, sampler.state_dict(), {"note": "test"})
    assert json.loads((tmp_path / "meta.json").read_text()) == {"step": 3, "note": "test"}
    expected_loss = _step(model, optimizer, sampler, 3, cfg)
    expected_next = _step(model, optimizer, sampler, 4, cfg)

    torch.manual_seed(999)  # a different RNG state and initialisation, which the checkpoint must override
    np.random.seed(999)
    fresh = GPT(model.config)
    fresh_optimizer = build_optimizer(fresh, cfg, CPU)
    fresh_sampler = BlockSampler(TokenSplit.open(sample_tokens, "train"), 64, seed=0)
    restored = load_checkpoint(tmp_path, fresh, fresh_optimizer)
    assert restored["step"] == 3
    fresh_sampler.load_state_dict(restored["sampler"])
    assert _step(fresh, fresh_optimizer, fresh_sampler, 3, cfg) == expected_loss
    assert _step(fresh, fresh_optimizer, fresh_sampler, 4, cfg) == expected_next
    for (name, original), (_, resumed) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(original, resumed), name
    for original, resumed in zip(optimizer.state.values(), fresh_optimizer.state.values()):
        assert all(torch.equal(original[key], resumed[key]) for key in ("exp_avg", "exp_avg_sq", "step"))
    assert fresh_sampler.state_dict() == sampler.state_dict()
