"""A training run's folder: the layout ``training/run.py`` writes, and evaluation and the flow read.

Layout under the output directory::

    checkpoints/train/step-00000100/   Ray Train's checkpoints: state.pt + meta.json (``training/checkpoint.py``)
    hf/                                the final model, a Hugging Face export: model.safetensors + webtext.json
                                       beside its config and tokenizer (``training/export.py``)
    mlflow_run.json                    the MLflow run this folder trains into
    summary.json                       the run's summary (``pipeline/stage.py``)

Names and path arithmetic only: the checkpoint and the export import their file names from here, so a reader
needs neither torch nor Ray (nor pyarrow) to find its way around a run.
"""

from __future__ import annotations

from pathlib import Path

CHECKPOINTS_DIR = "checkpoints"
HF_DIR = "hf"
RUN_RECORD = "mlflow_run.json"
STATE_FILE, META_FILE = "state.pt", "meta.json"  # a checkpoint's weights and optimizer state, and its description
WEIGHTS_FILE, METADATA_FILE = "model.safetensors", "webtext.json"  # an export's weights, and which run made them


def has_run(folder: Path) -> bool:
    """A training run started in ``folder``: it left its summary, its checkpoints folder or its MLflow run record."""
    # imported here: the checkpoint, which imports this module, needs no pyarrow (pipeline.stage imports it)
    from pipeline.stage import SUMMARY_FILE

    return any((folder / name).exists() for name in (SUMMARY_FILE, CHECKPOINTS_DIR, RUN_RECORD))


def checkpoint_run_folder(checkpoint: Path) -> Path | None:
    """The run folder a checkpoint is in (``OUT`` for ``OUT/checkpoints/train/step-…``); None outside a run."""
    return next((parent.parent for parent in checkpoint.resolve().parents if parent.name == CHECKPOINTS_DIR), None)


def run_folder_of(path: Path) -> Path:
    """The training run folder ``path`` belongs to: ``OUT`` for ``OUT/hf``, ``OUT/checkpoints`` and any checkpoint
    under it, and for ``OUT`` itself; any other folder is its own."""
    resolved = path.resolve()
    if resolved.name == CHECKPOINTS_DIR:
        return resolved.parent
    if (run_folder := checkpoint_run_folder(resolved)) is not None:
        return run_folder
    return resolved.parent if resolved.name == HF_DIR else resolved


def model_weights_file(model: Path) -> Path | None:
    """The file holding a model's weights: an export's, a run folder's export's or a checkpoint's; None if none."""
    candidates = (model / WEIGHTS_FILE, model / HF_DIR / WEIGHTS_FILE, model / STATE_FILE)
    return next((path for path in candidates if path.is_file()), None)
