"""Where a run's stages write under its data root: the one layout the flow's config, the corpus versions and the
run report all read.

``flows/config.py`` derives its folder properties from ``LAYOUT``; a run report or a version manifest of a data
root finds each stage's ``summary.json`` through it. Models live in ``models/<size>/<corpus version>/``, beside
the quality classifier in ``models/quality/``.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.shards import read_json
from pipeline.stage import SUMMARY_FILE

# The data stages in the DAG's order (train and evaluate follow them).
DATA_STAGES = ("harvest", "fetch", "extract", "dedup", "filter", "decontaminate", "tokenize")
# Each stage's folder under the data root.
LAYOUT = {
    "harvest": ("urls",),
    "fetch": ("fetch",),
    "extract": ("docs", "extracted"),
    "dedup": ("docs", "deduped"),
    "filter": ("docs", "filtered"),
    "decontaminate": ("corpus",),
    "tokenize": ("tokens",),
    "models": ("models",),
    "compare": ("comparison",),
}
QUALITY_MODEL_DIR = "quality"  # under the models folder: the filter's quality classifier, not a model size
VERSIONS_DIR = "versions"  # the corpus version manifests (pipeline/lineage.py)
REPORT_DIR = "report"  # the run report (pipeline/report/)
TRAIN_STAGE = "train"  # the stage name in a trained model's summary.json


def latest_model(size_dir: Path) -> Path | None:
    """A size's newest model trained to the end: the last ``<size_dir>/vNNNN/`` whose ``summary.json`` is a training
    run's (``None`` when there is none yet)."""
    trained = [
        folder
        for folder in sorted(size_dir.glob("v[0-9]*"))
        if (read_json(folder / SUMMARY_FILE) or {}).get("stage") == TRAIN_STAGE
    ]
    return trained[-1] if trained else None
