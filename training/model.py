"""GPT-2, as the papers describe it, in one file that imports only torch.

Radford et al. 2019 (and GPT-1 before it): learned position embeddings; pre-LayerNorm residual blocks
(attention, then a 4x GELU MLP) and a final LayerNorm; the residual projections initialised with std
0.02/sqrt(2 * n_layer); the input embedding tied to the output layer. Attention goes through
``scaled_dot_product_attention`` (flash kernels on GPU). The embedding table is padded to a multiple of 64
rows for fast matmuls; the padded ids' logits are cut off before any loss or sampling, so they are never
scored or produced, and the Hugging Face export trims the rows back to the tokenizer's vocabulary.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from training.shapes import GPT2_VOCAB, SIZES, VOCAB_MULTIPLE, GPTConfig

# The shapes live in training/shapes.py (torch-free, for the CLI); re-exported here with the model.
__all__ = ["GPT", "GPT2_VOCAB", "SIZES", "VOCAB_MULTIPLE", "GPTConfig"]


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head, self.dropout = config.n_head, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v in one matmul
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, time, channels = x.shape  # (B, T, C)
        q, k, v = self.c_attn(x).split(channels, dim=2)
        heads = (batch, time, self.n_head, channels // self.n_head)
        q, k, v = (tensor.view(heads).transpose(1, 2) for tensor in (q, k, v))  # (B, nh, T, hs)
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(batch, time, channels)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))  # GPT-2's GELU


class Block(nn.Module):
    """Pre-LayerNorm: each sub-layer reads a normalised copy of the residual stream and adds to it."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """GPT-2 (names follow OpenAI's checkpoint and ``transformers``' GPT2LMHeadModel, so export is a copy)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.activation_checkpointing = False
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(config.padded_vocab, config.n_embd),
                "wpe": nn.Embedding(config.block_size, config.n_embd),
                "drop": nn.Dropout(config.dropout),
                "h": nn.ModuleList(Block(config) for _ in range(config.n_layer)),
                "ln_f": nn.LayerNorm(config.n_embd, bias=config.bias),
            }
        )
        self.lm_head = nn.Linear(config.n_embd, config.padded_vocab, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied input and output embeddings
        self.apply(self._init_weights)
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)  # each block adds two residual contributions
        for name, parameter in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(parameter, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_parameters(self, count_padding: bool = False) -> int:
        """Parameters as GPT-2's papers count them: tied embeddings once, the padded rows not at all."""
        total = sum(parameter.numel() for parameter in self.parameters())  # parameters() yields a tied one once
        if not count_padding:
            total -= (self.config.padded_vocab - self.config.vocab_size) * self.config.n_embd
        return total

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits over the tokenizer's vocabulary (padded ids cut off), and the mean cross-entropy with ``targets``
        when given; ``targets`` equal to -1 are ignored."""
        time = idx.size(1)  # idx: (B, T)
        if time > self.config.block_size:
            raise ValueError(f"{time} tokens are more than the model's context of {self.config.block_size}")
        positions = torch.arange(time, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(positions))  # (B, T, C)
        for block in self.transformer.h:
            if self.activation_checkpointing and self.training:
                x = checkpoint(block, x, use_reentrant=False)  # recompute activations in backward: memory for time
            else:
                x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))[..., : self.config.vocab_size]  # (B, T, vocab)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def flops_per_token(self, context: int | None = None) -> float:
        """Training FLOPs per token, PaLM's appendix B formula: 6N + 12·L·H·Q·T (N without position embeddings)."""
        config = self.config
        n = self.num_parameters() - self.transformer.wpe.weight.numel()
        head_dim = config.n_embd // config.n_head
        return 6 * n + 12 * config.n_layer * config.n_head * head_dim * (context or config.block_size)

    @torch.no_grad()
    def generate(
        self, idx: torch.Tensor, new_tokens: int, temperature: float = 1.0, top_k: int | None = None
    ) -> torch.Tensor:
        """Sample ``new_tokens`` continuations of ``idx`` (B, T) (for a quick look at what a model learned)."""
        for _ in range(new_tokens):
            logits, _ = self(idx[:, -self.config.block_size :])
            logits = logits[:, -1, :] / max(temperature, 1e-6)
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
                logits[logits < kth] = -float("inf")
            idx = torch.cat([idx, torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)], dim=1)
        return idx
