"""What every stage command prints at the end: its summary, then its outcome counts, largest first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pipeline.stage import headline

if TYPE_CHECKING:
    from pipeline.stage import StageSummary


def print_counts(counts: Mapping[str, int], label: str = "") -> None:
    """``counts`` as ``  <label><name> <count>`` lines, largest first, names padded to the longest."""
    width = max(map(len, counts), default=0)
    for name, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {label}{name:<{width}} {count:>10,}")


def print_summary(summary: StageSummary, outcome_label: str = "") -> None:
    """The headline counts, the work units done and skipped, the time, then the outcomes table."""
    print(f"{summary.stage}: {headline(summary.counts).replace('_', ' ')}")
    print(
        f"  {summary.units_done} of {summary.units} work units done ({summary.units_skipped} already complete) "
        f"in {summary.seconds:.1f} s; output: {summary.out_dir}"
    )
    print_counts(summary.outcomes, label=outcome_label)


REPLACE_HELP = "delete output shards whose input shard is gone (without it, such a run stops and names them)"
