"""The tokenize config: every rule's message names the field; what a unit's shards and a trained BPE depend on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.tokenize.config import TokenizeConfig


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tokenizer", "sentencepiece"),
        ("dtype", "int8"),
        ("dtype", "uint64"),
        ("vocab_size", 256),
        ("vocab_size", 2**32 + 1),
        ("vocab_size", 1000.5),
        ("bpe_min_frequency", 0),
        ("bpe_max_documents", 0),
        ("val_fraction", -0.01),
        ("val_fraction", 0.51),
        ("val_fraction", "0.1"),
        ("seed", -1),
        ("shard_tokens", 0),
        ("shard_tokens", True),
        ("workers", 0),
        ("workers", 2.5),
    ],
)
def test_each_rule_names_its_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        TokenizeConfig(**{field: value})


def test_the_limits_themselves_are_accepted() -> None:
    cfg = TokenizeConfig(vocab_size=257, val_fraction=0.5, shard_tokens=1, workers=1, dtype="uint32", tokenizer="auto")
    assert (cfg.vocab_size, cfg.val_fraction, cfg.shard_tokens) == (257, 0.5, 1)
    assert TokenizeConfig(val_fraction=0.0, workers=None).val_fraction == 0.0


def test_a_units_identity_leaves_out_what_cannot_change_its_shards() -> None:
    base = TokenizeConfig()
    same = [
        dataclasses.replace(base, workers=7),
        dataclasses.replace(base, gpt2_vocab_dir=Path("/elsewhere")),
        dataclasses.replace(base, vocab_size=1000, bpe_min_frequency=5),  # the tokenizer's files stand for these
    ]
    assert all(cfg.split_identity() == base.split_identity() for cfg in same)
    for change in ({"seed": 1}, {"val_fraction": 0.01}, {"shard_tokens": 10}):
        assert dataclasses.replace(base, **change).split_identity() != base.split_identity(), change


def test_a_trained_bpe_depends_on_its_training_settings_and_the_split() -> None:
    base = TokenizeConfig(tokenizer="bpe")
    assert dataclasses.replace(base, shard_tokens=10, workers=3).training_identity() == base.training_identity()
    for change in ({"vocab_size": 1000}, {"bpe_min_frequency": 3}, {"bpe_max_documents": 5}, {"seed": 2}):
        assert dataclasses.replace(base, **change).training_identity() != base.training_identity(), change
