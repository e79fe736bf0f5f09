"""The GPT-2 model: GPT-2's published sizes, its initialisation, the padded vocabulary never leaking out, causality,
SDPA against textbook attention, activation checkpointing, and the shapes it refuses."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from training.model import GPT, SIZES, VOCAB_MULTIPLE, GPTConfig


def small_config(**overrides: object) -> GPTConfig:
    shape = {"n_layer": 2, "n_head": 4, "n_embd": 32, "block_size": 16, "vocab_size": 100}
    return GPTConfig(**(shape | overrides))


def seeded(config: GPTConfig, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(config)


# GPT-2's parameter counts with its 50,257-token vocabulary and the output layer tied to the input embedding.
# Per block with width d: two LayerNorms 4d, c_attn 3d²+3d, attn.c_proj d²+d, c_fc 4d²+4d, mlp.c_proj 4d²+d,
# i.e. 12d² + 13d; the model adds wte V·d, wpe T·d (T = 1024) and ln_f 2d:
#   124M:  d=768,  L=12: 38,597,376 + 786,432 + 12·7,087,872 (85,054,464) + 1,536 = 124,439,808
#   350M:  d=1024, L=24: 51,463,168 + 1,048,576 + 24·12,596,224 (302,309,376) + 2,048 = 354,823,168
#   774M:  d=1280, L=36: 64,328,960 + 1,310,720 + 36·19,677,440 (708,387,840) + 2,560 = 774,030,080
#   1558M: d=1600, L=48: 80,411,200 + 1,638,400 + 48·30,740,800 (1,475,558,400) + 3,200 = 1,557,611,200
GPT2_COUNTS = {"124M": 124_439_808, "350M": 354_823_168, "774M": 774_030_080, "1558M": 1_557_611_200}


@pytest.mark.parametrize("size", list(GPT2_COUNTS))
def test_named_sizes_have_gpt2s_parameter_counts(size: str) -> None:
    config = GPTConfig.named(size)
    with torch.device("meta"):  # shapes only: the 1558M model costs no memory
        model = GPT(config)
    d, n_layer, vocab, context = config.n_embd, config.n_layer, config.vocab_size, config.block_size
    assert vocab * d + context * d + n_layer * (12 * d * d + 13 * d) + 2 * d == GPT2_COUNTS[size]
    assert model.num_parameters() == GPT2_COUNTS[size]
    padding = (config.padded_vocab - vocab) * d
    assert model.num_parameters(count_padding=True) == GPT2_COUNTS[size] + padding


def test_initialisation_scales_residual_projections() -> None:
    """std 0.02 everywhere, 0.02/sqrt(2·n_layer) for the projections that write into the residual stream."""
    config = GPTConfig(n_layer=8, n_head=8, n_embd=256, block_size=256, vocab_size=4096)
    model = seeded(config)
    residual_std = 0.02 / math.sqrt(2 * config.n_layer)
    for name, parameter in model.named_parameters():
        if name.endswith("c_proj.weight"):
            assert parameter.std().item() == pytest.approx(residual_std, rel=0.05), name
        elif name.endswith(("c_attn.weight", "c_fc.weight", "wte.weight", "wpe.weight")):
            assert parameter.std().item() == pytest.approx(0.02, rel=0.05), name
        elif name.endswith("bias"):
            assert torch.all(parameter == 0), name
        else:  # LayerNorm gains
            assert name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")), name
            assert torch.all(parameter == 1), name
    assert model.lm_head.weight is model.transformer.wte.weight


@pytest.mark.parametrize("vocab_size", [100, 128, 50257])
def test_vocabulary_is_padded_to_a_multiple_of_64(vocab_size: int) -> None:
    config = small_config(vocab_size=vocab_size)
    assert config.padded_vocab % VOCAB_MULTIPLE == 0
    assert vocab_size <= config.padded_vocab < vocab_size + VOCAB_MULTIPLE


def test_padded_ids_are_never_scored_nor_sampled() -> None:
    """Rig the padded rows to win every argmax: the logits still stop at vocab_size and generate never yields them."""
    config = small_config(vocab_size=100)  # padded to 128
    model = seeded(config).eval()
    with torch.no_grad():
        model.transformer.ln_f.weight.zero_()  # every position's final hidden state is ln_f's bias ...
        model.transformer.ln_f.bias.copy_(torch.randn(config.n_embd))
        model.transformer.wte.weight[config.vocab_size :] = 100 * model.transformer.ln_f.bias  # ... which these match
    idx = torch.randint(0, config.vocab_size, (3, 5))
    logits, _ = model(idx)
    assert logits.shape == (3, 5, config.vocab_size)
    full = model.lm_head(model.transformer.ln_f(torch.zeros(1, config.n_embd)))
    assert full.argmax().item() >= config.vocab_size  # the rigging works: uncut, a padded id would win
    for top_k in (None, 5):
        out = model.generate(idx, new_tokens=10, temperature=1.0, top_k=top_k)
        assert out.shape == (3, 15) and out.max().item() < config.vocab_size


def test_changing_a_future_token_leaves_earlier_logits_unchanged() -> None:
    config = small_config()
    model = seeded(config).eval()
    idx = torch.randint(0, config.vocab_size, (2, config.block_size))
    changed = idx.clone()
    changed[:, 10] = (changed[:, 10] + 1) % config.vocab_size
    with torch.no_grad():
        before, _ = model(idx)
        after, _ = model(changed)
    torch.testing.assert_close(before[:, :10], after[:, :10], rtol=0, atol=1e-6)
    assert (before[:, 10:] - after[:, 10:]).abs().max() > 1e-3


def test_sdpa_attention_equals_manual_softmax_attention() -> None:
    config = small_config()
    attention = seeded(config).transformer.h[0].attn.eval()
    with torch.no_grad():
        for parameter in attention.parameters():
            parameter.normal_(0, 0.3)  # larger than init: attention far from uniform
        x = torch.randn(2, 12, config.n_embd)
        q, k, v = attention.c_attn(x).split(config.n_embd, dim=2)
        head_dim = config.n_embd // config.n_head
        q, k, v = (t.view(2, 12, config.n_head, head_dim).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(head_dim)
        future = torch.triu(torch.ones(12, 12, dtype=torch.bool), diagonal=1)
        weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        expected = attention.c_proj((weights @ v).transpose(1, 2).reshape(2, 12, config.n_embd))
        torch.testing.assert_close(attention(x), expected, rtol=1e-5, atol=1e-5)


def test_activation_checkpointing_gives_the_same_loss_and_gradients() -> None:
    config = small_config(n_layer=3)
    model = seeded(config).train()
    idx = torch.randint(0, config.vocab_size, (2, config.block_size))
    targets = torch.randint(0, config.vocab_size, (2, config.block_size))
    results = []
    for checkpointing in (False, True):
        model.zero_grad()
        model.activation_checkpointing = checkpointing
        _, loss = model(idx, targets)
        loss.backward()
        results.append((loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}))
    (loss_plain, grads_plain), (loss_checkpointed, grads_checkpointed) = results
    torch.testing.assert_close(loss_plain, loss_checkpointed, rtol=0, atol=1e-6)
    for name, grad in grads_plain.items():
        torch.testing.assert_close(grad, grads_checkpointed[name], rtol=1e-5, atol=1e-7, msg=name)


@pytest.mark.parametrize("size", ["tiny", "mini"])
def test_small_sizes_have_a_context_of_at_least_256(size: str) -> None:
    assert GPTConfig.named(size).block_size >= 256
    assert SIZES[size][3] >= 256


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="multiple of n_head"):
        small_config(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="model size must be one of"):
        GPTConfig.named("7B")
    with pytest.raises(ValueError, match="positive integer"):
        small_config(n_layer=0)
    with pytest.raises(ValueError, match="dropout"):
        small_config(dropout=1.0)
    model = seeded(small_config())
    with pytest.raises(ValueError, match="context of 16"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_named_overrides_change_fields() -> None:
    config = GPTConfig.named("tiny", vocab_size=4096, dropout=0.1, bias=False)
    assert (config.n_layer, config.vocab_size, config.dropout, config.bias) == (2, 4096, 0.1, False)


def test_targets_of_minus_one_are_ignored_by_the_loss() -> None:
    config = small_config()
    model = seeded(config).eval()
    idx = torch.randint(0, config.vocab_size, (2, 8))
    targets = torch.randint(0, config.vocab_size, (2, 8))
    targets[0, :5] = -1
    targets[1, 3] = -1
    logits, loss = model(idx, targets)
    kept = targets != -1
    expected = F.cross_entropy(logits[kept], targets[kept])
    torch.testing.assert_close(loss, expected)
