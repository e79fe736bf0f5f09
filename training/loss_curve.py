"""The loss curve of a training run, drawn from its MLflow metrics: the picture a run's summary and export carry."""

from __future__ import annotations

from pathlib import Path

from pipeline.tracking import history

CURVE_METRICS = ("train_loss", "val_loss")


def loss_curve(uri: str, run_id: str, path: Path, title: str) -> Path:
    """A PNG of the run's train and validation loss by step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for key in CURVE_METRICS:
        points = history(uri, run_id, key)
        if points:
            steps, values = zip(*points, strict=True)
            axes.plot(steps, values, label=key, marker="o" if len(points) < 20 else None)
    axes.set_xlabel("step")
    axes.set_ylabel("cross-entropy (nats per token)")
    axes.set_title(title)
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
