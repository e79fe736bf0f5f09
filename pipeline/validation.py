"""Checks shared by the stage configs' ``__post_init__``: one wording for every out-of-range value."""

from __future__ import annotations

from typing import Any


def check_range(name: str, value: Any, low: float, high: float, integer: bool = False) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is a number (an integer if asked) in [low, high]."""
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind} between {low} and {high}, got {value!r}")


def check_workers(workers: Any) -> None:
    """``workers`` is None (one per core) or a process count; the same rule in every stage."""
    if workers is not None:
        check_range("workers", workers, 1, 1024, integer=True)
