"""The one place the filter's thresholds are applied: scores and texts in, a reason (or None) per document out.

Order: fastText's language verdict first (from stored scores), then the heuristic rules
(which only run on documents still in), then the quality selection, and last langdetect's
cross-check, the costliest per document, asked only about documents that would otherwise be
kept. A document gets the first reason that applies, so every drop is counted once.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.filter.config import FilterConfig
from pipeline.filter.heuristics import check_text
from pipeline.filter.language import crosscheck_reason, language_reason
from pipeline.filter.quality import select

LOW_QUALITY = "low_quality"


def document_reasons(documents: pa.Table, scores: pa.Table, cfg: FilterConfig) -> list[str | None]:
    """Why each document of ``documents`` (with its row of ``scores``) is dropped; None keeps it."""
    texts = documents["text"].to_pylist()
    languages = scores["language"].to_pylist()
    language_scores = scores["language_score"].to_pylist()
    reasons: list[str | None] = []
    for text, language, score in zip(texts, languages, language_scores, strict=True):
        reason = language_reason(language, score, cfg.language)
        reasons.append(reason if reason is not None else check_text(text, cfg.heuristics, language))
    quality = scores["quality_score"].to_numpy(zero_copy_only=False).astype(np.float64)
    if cfg.quality.model_path and np.isnan(quality).any():
        raise ValueError("a quality model is configured but some documents have no quality score")
    kept_by_quality = select(documents["id"].to_pylist(), quality, cfg.quality)
    for index, keep in enumerate(kept_by_quality):
        if reasons[index] is None:
            reasons[index] = (
                crosscheck_reason(texts[index], languages[index], language_scores[index], cfg.language)
                if keep
                else LOW_QUALITY
            )
    return reasons
