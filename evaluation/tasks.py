"""The zero-shot tasks of the GPT-2 paper as data (lm-eval's design): each benchmark of the registry
(``pipeline/benchmarks``: release file, reader, version, headline metrics) with the scorer that measures it. The
version is the benchmark's, so a logged number says which definition produced it.

Metric names carry no task prefix; the caller logs ``f"{task}_{metric}"``. Every task also reports ``examples``
(how many it scored); rolling tasks report ``tokens`` (how many tokens the model predicted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from evaluation.metrics import bpb_metrics, bpc_metrics, choice_accuracy, cloze_metrics, text_metrics
from pipeline.benchmarks.files import ChoiceExample, ClozeExample, TextSpan, cbt_completions
from pipeline.benchmarks.registry import BENCHMARKS, Benchmark


class LanguageModel(Protocol):
    """What a task scores against (``evaluation/adapter.py`` implements it), the two calls of lm-eval's LM API."""

    max_length: int  # the model's context window in tokens

    def encode(self, text: str) -> list[int]: ...

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[tuple[float, bool]]:
        """(context, continuation) → (Σ log-probability of the continuation's tokens, all of them greedy), encoded as
        lm-eval does: together, trailing spaces of the context moved to the continuation, context left-truncated."""
        ...

    def loglikelihood_rolling(self, texts: Sequence[str], stride: int | None = None) -> list[tuple[float, int]]:
        """Each text's total log-likelihood (natural log), every token predicted once (the first conditioned on
        end-of-text), and the number of tokens scored; ``stride`` None = disjoint windows of ``max_length``, else a
        sliding window of ``max_length`` tokens advancing ``stride`` tokens, scoring only the new ones (``stride`` =
        ``max_length`` is the disjoint case)."""
        ...


@dataclass(frozen=True)
class EvalOptions:
    """How rolling tasks window long texts: ``stride`` None = lm-eval's disjoint windows (tokens early in a window
    see little context); a stride gives every token after the first window at least ``max_length - stride + 1``
    tokens of context, which lowers perplexity and costs about ``max_length / stride`` times the compute.

    ``EvalConfig`` checks the stride once; the adapter refuses one longer than the model's context."""

    stride: int | None = None


Example = TypeVar("Example")


Scorer = Callable[[LanguageModel, Sequence[Example], EvalOptions], dict[str, float]]


@dataclass(frozen=True)
class Task(Generic[Example]):
    """One benchmark and how it is scored: ``load(path, limit)`` reads ``filename`` (the release file's name under
    the data folder), ``score(model, examples, options)`` returns the metrics."""

    benchmark: Benchmark
    score: Scorer

    @property
    def name(self) -> str:
        return self.benchmark.name

    @property
    def version(self) -> int:
        return self.benchmark.version

    @property
    def filename(self) -> str:
        return self.benchmark.filename

    @property
    def description(self) -> str:
        return self.benchmark.description

    def load(self, path: Path, limit: int | None = None) -> list[Example]:
        return self.benchmark.load(path, limit)

    def evaluate(
        self, model: LanguageModel, data_dir: Path, limit: int | None = None, options: EvalOptions | None = None
    ) -> dict[str, float]:
        """Load ``data_dir / filename`` (its first ``limit`` examples) and score it."""
        examples = self.load(Path(data_dir) / self.filename, limit)
        return self.score(model, examples, options or EvalOptions())


def _nonempty(examples: Sequence[Any]) -> None:
    if not examples:
        raise ValueError("no examples to score")


def _check_count(results: Sequence[Any], expected: int) -> None:
    if len(results) != expected:
        raise RuntimeError(f"the model returned {len(results)} results for {expected} requests")


def score_cloze(model: LanguageModel, examples: Sequence[ClozeExample], options: EvalOptions) -> dict[str, float]:
    """LAMBADA: the log-likelihood and greediness of each target word given its passage."""
    _nonempty(examples)
    results = model.loglikelihood([(example.context, example.target) for example in examples])
    _check_count(results, len(examples))
    return cloze_metrics(results)


def score_documents(model: LanguageModel, examples: Sequence[TextSpan], options: EvalOptions) -> dict[str, float]:
    """WikiText: each article rolled separately (lm-eval's unit), normalised by the original articles."""
    _nonempty(examples)
    results = model.loglikelihood_rolling([example.text for example in examples], stride=options.stride)
    _check_count(results, len(examples))
    return text_metrics(results, [example.original for example in examples], len(examples))


StreamMetrics = Callable[[Sequence[tuple[float, int]], Sequence[str], int], dict[str, float]]


def score_stream(
    model: LanguageModel,
    examples: Sequence[TextSpan],
    options: EvalOptions,
    *,
    separator: str,
    metrics: StreamMetrics,
) -> dict[str, float]:
    """PTB, enwik8, text8: the examples joined back into one text and rolled once, as the GPT-2 paper scored each
    test set as a whole; the release's text joined the same way is the normaliser."""
    _nonempty(examples)
    text = separator.join(example.text for example in examples)
    original = separator.join(example.original for example in examples)
    results = model.loglikelihood_rolling([text], stride=options.stride)
    _check_count(results, 1)
    return metrics(results, [original], len(examples))


def score_choices(model: LanguageModel, examples: Sequence[ChoiceExample], options: EvalOptions) -> dict[str, float]:
    """CBT as the GPT-2 paper: for each candidate, the log-likelihood of the whole question sentence completed with
    it, given the 20 story sentences; the highest wins. Scoring the words before the blank too changes no choice
    (they are the same for every candidate) and keeps one request per candidate."""
    _nonempty(examples)
    requests = [(example.context, completion) for example in examples for completion in cbt_completions(example)]
    results = model.loglikelihood(requests)
    _check_count(results, len(requests))
    loglikelihoods = iter(loglikelihood for loglikelihood, _ in results)
    scores = [[next(loglikelihoods) for _ in example.candidates] for example in examples]
    answers = [example.candidates.index(example.answer) for example in examples]
    return choice_accuracy(scores, answers)


def _stream(name: str, metrics: StreamMetrics) -> Scorer:
    """A stream task's scorer, joining the examples as the benchmark defines its stream."""
    separator = BENCHMARKS[name].separator
    assert separator is not None, f"{name} is not a stream benchmark"
    return partial(score_stream, separator=separator, metrics=metrics)


SCORERS: dict[str, Scorer] = {
    "lambada": score_cloze,
    "cbt_cn": score_choices,
    "cbt_ne": score_choices,
    "wikitext2": score_documents,
    "ptb": _stream("ptb", text_metrics),
    "enwik8": _stream("enwik8", bpb_metrics),
    "text8": _stream("text8", bpc_metrics),
    "wikitext103": score_documents,
    "sample_lambada": score_cloze,
}
TASKS: dict[str, Task[Any]] = {name: Task(benchmark, SCORERS[name]) for name, benchmark in BENCHMARKS.items()}
