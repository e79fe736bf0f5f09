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

# langdetect reads at most this many characters, in evenly spaced windows (a mixed-language page shows
# all its languages); its cost grows with the text, its verdict settles long before.
CROSSCHECK_CHARS = 1000
CROSSCHECK_WINDOWS = 4
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
    detector.append(crosscheck_sample(text))
    try:
        language = detector.detect()
    except LangDetectException:
        return None
    return LANGDETECT_TO_FASTTEXT.get(language, language)


def crosscheck_sample(text: str) -> str:
    """``text`` itself when short, else ``CROSSCHECK_WINDOWS`` windows spread over it, ``CROSSCHECK_CHARS`` in all."""
    if len(text) <= CROSSCHECK_CHARS:
        return text
    width = CROSSCHECK_CHARS // CROSSCHECK_WINDOWS
    step = (len(text) - width) / (CROSSCHECK_WINDOWS - 1)
    return "\n".join(text[round(i * step) : round(i * step) + width] for i in range(CROSSCHECK_WINDOWS))


def needs_crosscheck(text: str, score: float, cfg: LanguageConfig) -> bool:
    """Short or low-confidence keeps are where fastText is least reliable."""
    return cfg.crosscheck and (len(text) < cfg.crosscheck_max_chars or score < cfg.crosscheck_below_score)


def language_reason(language: str, score: float, cfg: LanguageConfig) -> str | None:
    """fastText's verdict: the top language is not wanted, or it is but below ``min_score``; None keeps it."""
    if language not in cfg.languages:
        return "language_not_allowed"
    if score < cfg.min_score:
        return "language_low_score"
    return None


def crosscheck_reason(text: str, language: str, score: float, cfg: LanguageConfig) -> str | None:
    """``language_disputed`` when langdetect, asked about a short or doubtful keep, names another language.

    The slowest check per document (~1-2 ms), so the filter asks it last, only about
    documents that everything else would keep.
    """
    if needs_crosscheck(text, score, cfg):
        second_opinion = langdetect_language(text)
        if second_opinion is not None and second_opinion != language:
            return "language_disputed"
    return None
