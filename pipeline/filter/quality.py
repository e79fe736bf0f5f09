"""The quality classifier at filter time: a score per document, then a keep/drop decision from config.

Scores are the probability of the ``hq`` label, so 1.0 reads "like the positives". The
decision is separate from the score (``select``), so changing the threshold, the Pareto
alpha or the seed reuses the stored scores. GPT-3's Pareto selection keeps a document when
``np.random.pareto(alpha) > 1 - score``; here the draw comes from the document id and the
seed through the inverse CDF, so the same document gets the same draw whatever shard,
batch or order it is processed in.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.filter.config import QualityConfig
from pipeline.filter.fasttext_models import file_identity, load_model, one_line, predict_top

POSITIVE = "hq"
NEGATIVE = "lq"
UNIT = 2.0**-53


def quality_line(text: str) -> str:
    """The text the classifier sees, at training and at scoring time alike: one lower-cased line."""
    return one_line(text).lower()


def quality_identity(cfg: QualityConfig) -> dict[str, Any] | None:
    """What the stored quality scores depend on (None: no classifier configured)."""
    return {"quality_model": file_identity(Path(cfg.model_path))} if cfg.model_path else None


def score_lines(model: Any, lines: list[str]) -> np.ndarray:
    """P(hq) for each prepared line (see ``quality_line``)."""
    labels, probabilities = predict_top(model, lines)
    positive = np.fromiter((label == POSITIVE for label in labels), dtype=bool, count=len(labels))
    return np.where(positive, probabilities, 1.0 - probabilities).astype(np.float32)


def quality_scores(texts: list[str], cfg: QualityConfig) -> np.ndarray | None:
    """Scores of ``texts`` under the configured classifier, or None when there is none."""
    if not cfg.model_path:
        return None
    return score_lines(load_model(cfg.model_path), [quality_line(text) for text in texts])


def document_uniform(document_id: str, seed: int) -> float:
    """A uniform draw in (0, 1) fixed by the document id and the seed."""
    digest = hashlib.blake2b(f"{seed}:{document_id}".encode(), digest_size=8).digest()
    return ((int.from_bytes(digest, "little") >> 11) + 0.5) * UNIT


def pareto_draws(document_ids: list[str], alpha: float, seed: int) -> np.ndarray:
    """One Lomax(alpha) draw per document, numpy's ``pareto`` distribution: ``U ** (-1 / alpha) - 1``."""
    uniforms = np.fromiter((document_uniform(doc_id, seed) for doc_id in document_ids), dtype=np.float64)
    return uniforms ** (-1.0 / alpha) - 1.0


def select(document_ids: list[str], scores: np.ndarray, cfg: QualityConfig) -> np.ndarray:
    """Which documents the quality rule keeps (all of them when it does not select)."""
    if cfg.selection == "none" or not cfg.model_path:
        return np.ones(len(document_ids), dtype=bool)
    if cfg.selection == "threshold":
        return scores >= cfg.threshold
    return pareto_draws(document_ids, cfg.pareto_alpha, cfg.seed) > 1.0 - scores
