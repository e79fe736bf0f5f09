"""Where a run's stages write under its data root: the one layout the flow's config, the corpus versions and the
run report all read.

``flows/config.py`` derives its folder properties from ``LAYOUT``; a run report or a version manifest of a data
root finds each stage's ``summary.json`` through it. Models live in ``models/<size>/<corpus version>/``, beside
the quality classifier in ``models/quality/``.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.stage import SummaryError, read_summary

# The data stages in the DAG's order (train and evaluate follow them).
DATA_STAGES = ("harvest", "fetch", "extract", "dedup", "filter", "decontaminate", "tokenize")
# The orders a run may take them in: the card's (dedup, then filter) or FineWeb's (filter, then dedup: the dedup
# clusters fewer documents). Either way each stage writes its own folder and reads the one before it.
DEDUP_FIRST, FILTER_FIRST = "dedup_first", "filter_first"
STAGE_ORDERS = {
    DEDUP_FIRST: DATA_STAGES,
    FILTER_FIRST: ("harvest", "fetch", "extract", "filter", "dedup", "decontaminate", "tokenize"),
}
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
# in a model's folder, beside training's own layout (training/run_folder.py): what the report reads of it
EVAL_SUMMARY = "eval_summary.json"  # the evaluation's StageSummary (evaluation/run.py)
LOSS_CURVE = "loss_curve.png"  # the training run's loss curve (training/run.py)


def latest_model(size_dir: Path) -> Path | None:
    """A size's newest model trained to the end: the last ``<size_dir>/vNNNN/`` whose ``summary.json`` is a training
    run's (``None`` when there is none yet)."""
    trained = [folder for folder in sorted(size_dir.glob("v[0-9]*")) if _trained(folder)]
    return trained[-1] if trained else None


def _trained(folder: Path) -> bool:
    try:
        summary = read_summary(folder)
    except SummaryError:  # a damaged summary: not a model to build on
        return False
    return summary is not None and summary.stage == TRAIN_STAGE
