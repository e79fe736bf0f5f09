"""``webtext compare``: the model-size table of the GPT-2 paper (its Table 3), for the models of one experiment.

Rows are the latest evaluation of each model size in the MLflow experiment, by parameter count; columns
the tasks any of them ran, each with the paper's metric; the paper's own four models are shown below
as the reference (their zero-shot results, Radford et al. 2019, Table 3, as the benchmark registry
``pipeline/benchmarks/registry.py`` holds them by metric name). An evaluation run with a ``limit``
scored only part of a test set: its row says so, and it is not comparable with the paper's.
Written as Markdown and CSV with a plot of each metric against the parameter count (log scale), logged
to a ``compare`` run of the experiment and printed.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation.compare_run import log_comparison
from pipeline.benchmarks.registry import HEADLINE_METRICS, PAPER_MODELS
from pipeline.tracking import KIND_TAG

# (metric logged by evaluate, column heading, shown as a percentage), in the registry's order: Table 3's
COLUMNS = tuple((metric.name, metric.title, metric.percent) for metric in HEADLINE_METRICS)


@dataclasses.dataclass(slots=True)
class Row:
    label: str
    n_params: float
    metrics: dict[str, float]
    limit: str = "none"
    run_id: str | None = None


def evaluation_rows(uri: str, experiment: str) -> list[Row]:
    """The latest evaluation run of each model size in ``experiment``, smallest model first."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise ValueError(f"MLflow experiment {experiment!r} not found at {uri}: train and evaluate a model first")
    runs = client.search_runs(
        [found.experiment_id], filter_string=f"tags.`{KIND_TAG}` = 'evaluate'", order_by=["attributes.start_time DESC"]
    )
    latest: dict[str, Any] = {}
    for run in runs:
        latest.setdefault(run.data.tags.get("model_size", run.info.run_id), run)
    rows = [
        Row(
            size,
            float(run.data.tags.get("n_params", "nan")),
            dict(run.data.metrics),
            run.data.params.get("limit", "none"),
            run.info.run_id,
        )
        for size, run in latest.items()
    ]
    return sorted(rows, key=lambda row: row.n_params)


def paper_rows() -> list[Row]:
    """The paper's four models with their Table 3 numbers (zero-shot), as the registry gives them by metric."""
    return [
        Row(
            f"GPT-2 {model} (paper)",
            n_params,
            {metric.name: metric.paper[model] for metric in HEADLINE_METRICS if metric.paper and model in metric.paper},
        )
        for model, n_params in PAPER_MODELS.items()
    ]


def _shown(value: float | None, percent: bool) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if percent:
        return f"{100 * value:.2f}"
    return f"{value:.2f}" if abs(value) < 1e5 else f"{value:.3g}"  # an untrained model's perplexity: 2e+09


def columns_of(rows: list[Row]) -> list[tuple[str, str, bool]]:
    """The columns any of ``rows`` has a value for, in the paper's order."""
    return [column for column in COLUMNS if any(column[0] in row.metrics for row in rows)]


def markdown_table(rows: list[Row], reference: list[Row]) -> str:
    columns = columns_of(rows)
    heading = ["model", "parameters", "limit", *(title for _, title, _ in columns)]
    lines = ["| " + " | ".join(heading) + " |", "|" + "---|" * len(heading)]
    for row in [*rows, *reference]:
        cells = [row.label, f"{row.n_params / 1e6:,.1f}M", row.limit]
        cells += [_shown(row.metrics.get(key), percent) for key, _, percent in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def csv_table(rows: list[Row], reference: list[Row]) -> str:
    columns = columns_of(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["model", "n_params", "limit", "mlflow_run_id", *(key for key, _, _ in columns)])
    for row in [*rows, *reference]:
        writer.writerow(
            [
                row.label,
                int(row.n_params),
                row.limit,
                row.run_id or "",
                *(row.metrics.get(k, "") for k, _, _ in columns),
            ]
        )
    return buffer.getvalue()


def plot(rows: list[Row], reference: list[Row], path: Path) -> Path:
    """One panel per metric: value against parameter count (log scale), ours and the paper's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = columns_of(rows)
    width = min(4, len(columns))
    height = math.ceil(len(columns) / width)
    figure, axes = plt.subplots(height, width, figsize=(4 * width, 3.2 * height), squeeze=False)
    for axis, (key, title, percent) in zip(axes.flat, columns, strict=False):
        for group, style in ((rows, "o-"), (reference, "s--")):
            points = [(row.n_params, row.metrics[key]) for row in group if key in row.metrics]
            if points:
                xs, ys = zip(*points, strict=True)
                ys = [100 * y for y in ys] if percent else list(ys)
                axis.plot(xs, ys, style, label="ours" if group is rows else "GPT-2 paper")
        axis.set_xscale("log")
        axis.set_title(title)
        axis.set_xlabel("parameters")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    for axis in list(axes.flat)[len(columns) :]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def compare_models(
    uri: str, experiment: str, out_dir: Path, version: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Write ``comparison.md``, ``comparison.csv`` and ``comparison.png`` into ``out_dir`` and log them to the
    compare run of corpus ``version`` in ``experiment`` (``compare_run``: one per version, written only when the
    table changed); returns the table and the paths."""
    rows = evaluation_rows(uri, experiment)
    if not rows:
        raise ValueError(f"MLflow experiment {experiment!r} at {uri} has no evaluation runs: run `webtext evaluate`")
    reference = paper_rows()
    out_dir.mkdir(parents=True, exist_ok=True)
    table = markdown_table(rows, reference)
    (out_dir / "comparison.md").write_text(table, encoding="utf-8")
    (out_dir / "comparison.csv").write_text(csv_table(rows, reference), encoding="utf-8")
    image = plot(rows, reference, out_dir / "comparison.png")
    tables = [out_dir / "comparison.md", out_dir / "comparison.csv"]
    run_id, logged = log_comparison(uri, experiment, tables, [*tables, image], version)
    return {"table": table, "rows": len(rows), "out_dir": str(out_dir), "mlflow_run_id": run_id, "logged": logged}
