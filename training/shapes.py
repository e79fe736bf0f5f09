"""Model shapes: GPT-2's named sizes and the config of any custom one (no torch here: the CLI imports it)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

VOCAB_MULTIPLE = 64
GPT2_VOCAB = 50257
# Named sizes: (n_layer, n_head, n_embd, block_size). tiny and mini train on 2 CPU cores in seconds.
SIZES: dict[str, tuple[int, int, int, int]] = {
    "tiny": (2, 4, 128, 256),
    "mini": (4, 4, 256, 256),
    "124M": (12, 12, 768, 1024),
    "350M": (24, 16, 1024, 1024),
    "774M": (36, 20, 1280, 1024),
    "1558M": (48, 25, 1600, 1024),
}


@dataclasses.dataclass(frozen=True, slots=True)
class GPTConfig:
    """A model's shape. ``vocab_size`` is the tokenizer's; the embedding table holds ``padded_vocab`` rows."""

    n_layer: int
    n_head: int
    n_embd: int
    block_size: int
    vocab_size: int = GPT2_VOCAB
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def padded_vocab(self) -> int:
        return math.ceil(self.vocab_size / VOCAB_MULTIPLE) * VOCAB_MULTIPLE

    @classmethod
    def named(cls, size: str, vocab_size: int = GPT2_VOCAB, **overrides: Any) -> GPTConfig:
        """A named size (``tiny`` … ``1558M``) for a tokenizer's vocabulary; ``overrides`` change any field."""
        if size not in SIZES:
            raise ValueError(f"model size must be one of {', '.join(SIZES)}, got {size!r}")
        n_layer, n_head, n_embd, block_size = SIZES[size]
        shape = {"n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, "block_size": block_size}
        return cls(**(shape | {"vocab_size": vocab_size} | overrides))
