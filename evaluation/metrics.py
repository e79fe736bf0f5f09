"""The metrics, defined as lm-evaluation-harness defines them, so numbers compare with lm-eval's and (as far as
the paper says) with the GPT-2 paper's.

Perplexities normalise the model's log-likelihood of the *de-tokenized* text by the words or bytes of the
*original* release text: the normaliser is a property of the benchmark, not of our de-tokenizer or tokenizer,
which is what makes models with different tokenizers comparable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

LN2 = math.log(2)
_WHITESPACE = re.compile(r"\s+")


def count_words(original: str) -> int:
    """lm-eval's word count: ``len(re.split(r"\\s+", text))``, so a leading or trailing space adds one (empty)
    "word" (every WikiText article ends with one); kept for comparable word perplexities."""
    return len(_WHITESPACE.split(original))


def count_bytes(original: str) -> int:
    """UTF-8 bytes; ``surrogateescape`` gives back the exact bytes of text decoded with it (enwik8's cut edges)."""
    return len(original.encode("utf-8", "surrogateescape"))


def exp_or_inf(value: float) -> float:
    """``exp`` that reports a hopeless model as ``inf`` instead of raising OverflowError."""
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


def mean(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("no examples to average over")
    return sum(values) / len(values)


def perplexity(loglikelihoods: Sequence[float]) -> float:
    """lm-eval's ``perplexity`` aggregation: exp of minus the mean per-example log-likelihood (LAMBADA's ppl is
    per target word, however many tokens it has)."""
    return exp_or_inf(-mean(loglikelihoods))


def weighted_perplexity(loglikelihood: float, units: int) -> float:
    """lm-eval's ``weighted_perplexity``: exp(-Σ log-likelihood / Σ units), units being words or bytes."""
    return exp_or_inf(-loglikelihood / _positive(units))


def bits_per_unit(loglikelihood: float, units: int) -> float:
    """lm-eval's ``bits_per_byte`` (and bits per character): -Σ log-likelihood / Σ units / ln 2."""
    return -loglikelihood / _positive(units) / LN2


def _positive(units: int) -> int:
    if units <= 0:
        raise ValueError(f"cannot normalise by {units} units")
    return units


def cloze_metrics(results: Sequence[tuple[float, bool]]) -> dict[str, float]:
    """LAMBADA: ``acc`` = share of targets whose every token is the greedy choice; ``ppl`` = ``perplexity``."""
    return {
        "acc": mean([float(is_greedy) for _, is_greedy in results]),
        "ppl": perplexity([loglikelihood for loglikelihood, _ in results]),
        "examples": float(len(results)),
    }


def text_metrics(results: Sequence[tuple[float, int]], originals: Sequence[str], examples: int) -> dict[str, float]:
    """WikiText, PTB: ``word_ppl``, ``byte_ppl`` and ``bpb`` over the words and UTF-8 bytes of ``originals`` (the
    release's text of everything scored), and ``tokens`` (how many tokens the model predicted)."""
    loglikelihood = sum(value for value, _ in results)
    nbytes = sum(count_bytes(original) for original in originals)
    return {
        "word_ppl": weighted_perplexity(loglikelihood, sum(count_words(original) for original in originals)),
        "byte_ppl": weighted_perplexity(loglikelihood, nbytes),
        "bpb": bits_per_unit(loglikelihood, nbytes),
        "tokens": float(sum(count for _, count in results)),
        "examples": float(examples),
    }


def bpb_metrics(results: Sequence[tuple[float, int]], originals: Sequence[str], examples: int) -> dict[str, float]:
    """enwik8: bits per byte of the test split's bytes."""
    loglikelihood = sum(value for value, _ in results)
    return {
        "bpb": bits_per_unit(loglikelihood, sum(count_bytes(original) for original in originals)),
        "tokens": float(sum(count for _, count in results)),
        "examples": float(examples),
    }


def bpc_metrics(results: Sequence[tuple[float, int]], originals: Sequence[str], examples: int) -> dict[str, float]:
    """text8: bits per character of the test split."""
    loglikelihood = sum(value for value, _ in results)
    return {
        "bpc": bits_per_unit(loglikelihood, sum(len(original) for original in originals)),
        "tokens": float(sum(count for _, count in results)),
        "examples": float(examples),
    }


def choice_accuracy(scores: Sequence[Sequence[float]], answers: Sequence[int]) -> dict[str, float]:
    """CBT: ``acc`` = share of questions whose highest-scored candidate is the answer; a tie goes to the candidate
    listed first, so the result never depends on anything but the scores and the file."""
    picks = [max(range(len(row)), key=row.__getitem__) for row in scores]
    return {
        "acc": mean([float(pick == answer) for pick, answer in zip(picks, answers, strict=True)]),
        "examples": float(len(answers)),
    }
