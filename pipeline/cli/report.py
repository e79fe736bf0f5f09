"""What every stage command prints at the end: its outcome counts, largest first, one aligned line each."""

from __future__ import annotations

from collections.abc import Mapping


def print_counts(counts: Mapping[str, int], label: str = "") -> None:
    """``counts`` as ``  <label><name> <count>`` lines, largest first, names padded to the longest."""
    width = max(map(len, counts), default=0)
    for name, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {label}{name:<{width}} {count:>10,}")
