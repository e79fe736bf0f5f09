"""The trained models: one row per size from its folder (training ``summary.json``, ``eval_summary.json``), its
loss curve, and the comparison table ``webtext compare`` wrote (``comparison.md``, ``.csv``, ``.png``).

No MLflow here: the numbers are the ones the training and evaluation runs wrote next to their
models, so the report reads the same on a machine without the tracking store.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Any

from pipeline.layout import EVAL_SUMMARY, LOSS_CURVE
from pipeline.report.folders import readable_summary

COMPARISON_FILES = ("comparison.md", "comparison.csv", "comparison.png")


@dataclasses.dataclass(slots=True)
class ModelRun:
    """One trained size: its table row and, when there, its loss curve's PNG."""

    size: str
    row: dict[str, Any]
    loss_curve: Path | None


def _rounded(value: Any, digits: int = 4) -> Any:
    return round(value, digits) if isinstance(value, float) else value


def model_run(folder: Path) -> ModelRun:
    """A model folder's row: parameters, steps, first and last losses, throughput, then each evaluation metric."""
    train = readable_summary(folder)
    evaluation = readable_summary(folder, EVAL_SUMMARY)
    details, counts = (train.details, train.counts) if train else ({}, {})
    row: dict[str, Any] = {
        "model": details.get("model") or folder.parent.name,
        "corpus_version": folder.name,
        "n_params": counts.get("n_params"),
        "steps": counts.get("steps"),
        "first_train_loss": _rounded(details.get("first_train_loss")),
        "train_loss": _rounded(details.get("train_loss")),
        "val_loss": _rounded(details.get("val_loss")),
        "tokens_per_s": _rounded(details.get("tokens_per_s"), 1),
        "evaluated": "yes" if evaluation else "not run",
    }
    metrics = (evaluation.details.get("metrics") if evaluation else None) or {}
    row |= {name: _rounded(value) for name, value in sorted(metrics.items()) if isinstance(value, int | float)}
    curve = folder / LOSS_CURVE
    return ModelRun(folder.parent.name, row, curve if curve.is_file() else None)


def model_table(runs: list[ModelRun]) -> list[dict[str, Any]]:
    """The rows with the same keys (a metric one size lacks is ``None``), smallest model first."""
    keys: dict[str, None] = {}
    for run in runs:
        keys |= dict.fromkeys(run.row)
    rows = [{key: run.row.get(key) for key in keys} for run in runs]
    return sorted(rows, key=lambda row: (row.get("n_params") or 0, str(row["model"])))


@dataclasses.dataclass(slots=True)
class Comparison:
    """``webtext compare``'s output: its Markdown table, its CSV rows, its plot (each ``None`` when absent)."""

    markdown: str | None
    rows: list[dict[str, Any]]
    plot: Path | None


def comparison(folder: Path | None) -> Comparison:
    if folder is None or not folder.is_dir():
        return Comparison(None, [], None)
    markdown_file, csv_file, plot_file = (folder / name for name in COMPARISON_FILES)
    markdown = markdown_file.read_text(encoding="utf-8") if markdown_file.is_file() else None
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text(encoding="utf-8")))) if csv_file.is_file() else []
    return Comparison(markdown, rows, plot_file if plot_file.is_file() else None)
