"""Language ID: fastText ``lid.176`` scores every document; langdetect double-checks the doubtful ones.

fastText is fast and accurate on paragraphs of text, which is why it decides. On a few
words, or where the top label barely wins (mixed-language pages, code, lists of names), it
can be confidently wrong; langdetect (a different model: character n-gram naive Bayes over
Wikipedia) is slower but gives an independent opinion there. It is seeded, so its answer
is the same on every run.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.filter.config import LanguageConfig
from pipeline.filter.fasttext_models import bundled_lid_model, file_identity, load_model, one_line, predict_top

CROSSCHECK_CHARS = 2000  # langdetect's verdict settles long before this; more text only costs time
# langdetect's labels that fastText spells differently
LANGDETECT_TO_FASTTEXT = {"zh-cn": "zh", "zh-tw": "zh"}


def lid_model_path(cfg: LanguageConfig) -> Path:
    return Path(cfg.model_path) if cfg.model_path else bundled_lid_model()


def lid_identity(cfg: LanguageConfig) -> dict[str, Any]:
    """What the stored language scores depend on: the model file's bytes."""
    return {"lid_model": file_identity(lid_model_path(cfg))}


def identify_languages(lines: list[str], cfg: LanguageConfig) -> tuple[list[str], np.ndarray]:
    """fastText's top language and its probability for each single-line text."""
    return predict_top(load_model(lid_model_path(cfg)), lines)


def identify_language(text: str, cfg: LanguageConfig | None = None) -> tuple[str, float]:
    """One text's top language and probability (the batch call is faster for many)."""
    labels, scores = identify_languages([one_line(text)], cfg or LanguageConfig())
    return labels[0], float(scores[0])


@functools.cache
def _langdetect_factory() -> Any:
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)  # langdetect samples features at random: seeded, it answers the same every run
    return factory


def langdetect_language(text: str) -> str | None:
    """langdetect's top language (fastText's codes), or None when the text has nothing it can judge."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _langdetect_factory().create()
    detector.append(text[:CROSSCHECK_CHARS])
    try:
        language = detector.detect()
    except LangDetectException:
        return None
    return LANGDETECT_TO_FASTTEXT.get(language, language)


def needs_crosscheck(text: str, score: float, cfg: LanguageConfig) -> bool:
    """Short or low-confidence keeps are where fastText is least reliable."""
    return cfg.crosscheck and (len(text) < cfg.crosscheck_max_chars or score < cfg.crosscheck_below_score)


def language_reason(text: str, language: str, score: float, cfg: LanguageConfig) -> str | None:
    """Why the document fails language ID, or None to keep it.

    Checked in order: the top language is not wanted; it is, but below ``min_score``;
    langdetect, asked about a short or doubtful keep, names another language.
    """
    if language not in cfg.languages:
        return "language_not_allowed"
    if score < cfg.min_score:
        return "language_low_score"
    if needs_crosscheck(text, score, cfg):
        second_opinion = langdetect_language(text)
        if second_opinion is not None and second_opinion != language:
            return "language_disputed"
    return None
