"""The report's charts as PNG bytes (matplotlib, Agg): the caller writes them atomically and logs them.

Small figures (at most ~700 px wide), one chart each, so they read well inline in a Prefect
artifact or the MLflow UI. A chart of nothing is never drawn: the caller skips empty tables.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the backend is chosen first: no display needed
from matplotlib.ticker import MaxNLocator

from pipeline.report.funnel import FunnelRow

DPI = 100
WIDTH_IN = 7.0
LOG_SCALE_RANGE = 100  # largest / smallest bar above this: a log axis, else small steps vanish
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})  # no version: stable bytes
    plt.close(figure)
    return buffer.getvalue()


def horizontal_bars(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str) -> bytes:
    """One bar per label, top to bottom in the given order, each with its value written beside it."""
    assert len(labels) == len(values) and labels, "a chart needs bars"
    figure, axes = plt.subplots(figsize=(WIDTH_IN, 1.2 + 0.32 * len(labels)))
    positions = range(len(labels))
    axes.barh(positions, values, color="#4c72b0")
    axes.set_yticks(list(positions), labels=list(labels), fontsize=8)
    axes.invert_yaxis()
    positive = [value for value in values if value > 0]
    if positive and max(positive) / min(positive) > LOG_SCALE_RANGE:
        axes.set_xscale("log")
    for position, value in zip(positions, values):
        axes.annotate(f"{value:,.0f}", (value, position), xytext=(3, 0), textcoords="offset points", va="center")
    axes.set_title(title, fontsize=10)
    axes.set_xlabel(xlabel, fontsize=9)
    axes.margins(x=0.15)
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)


def funnel_chart(rows: Sequence[FunnelRow]) -> bytes:
    """What each step kept, in the run's order (the steps that ran)."""
    ran = [row for row in rows if row.ran]
    labels = [f"{row.stage}: {row.step} ({row.unit})" for row in ran]
    return horizontal_bars(labels, [row.count_out or 0 for row in ran], "Funnel: kept after each step", "records")


def language_chart(rows: Sequence[dict]) -> bytes:
    """Documents per language, as the filter scored them (its input), else as the corpus holds them."""
    top = rows[:15]
    key, title = ("scored", "filter input") if any(row["scored"] for row in top) else ("in_corpus", "corpus")
    values = [row[key] for row in top]
    return horizontal_bars([row["language"] for row in top], values, f"Languages ({title})", "documents")


def domain_chart(rows: Sequence[dict]) -> bytes:
    labels, values = [row["domain"] for row in rows], [row["documents"] for row in rows]
    return horizontal_bars(labels, values, "Top registered domains of the corpus", "documents")


def cluster_size_chart(rows: Sequence[dict]) -> bytes:
    """Clusters per size (2 = one document and one duplicate)."""
    assert rows, "a chart needs clusters"
    figure, axes = plt.subplots(figsize=(WIDTH_IN, 3.5))
    sizes, counts = [row["size"] for row in rows], [row["clusters"] for row in rows]
    axes.bar([str(size) for size in sizes], counts, color="#dd8452")
    if max(counts) / max(min(counts), 1) > LOG_SCALE_RANGE:
        axes.set_yscale("log")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Duplicate clusters by size", fontsize=10)
    axes.set_xlabel("documents in the cluster", fontsize=9)
    axes.set_ylabel("clusters", fontsize=9)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)
