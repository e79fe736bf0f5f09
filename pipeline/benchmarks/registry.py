"""The benchmarks of the GPT-2 paper as data (lm-eval's task YAMLs): each one's name, release file, reader,
de-tokenizer, headline metrics and the paper's numbers for them, defined once.

Evaluation scores a benchmark's examples, ``webtext compare`` shows its headline metrics beside the paper's
(Radford et al. 2019, Table 3, zero-shot), and decontamination cuts the text the model reads from the corpus
(``Benchmark.texts``), so the n-grams removed are those of the examples evaluated. The order below is Table 3's,
the comparison table's column order. Bump a benchmark's ``version`` whenever its reading, de-tokenization or
metric changes what it measures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.benchmarks.detokenize import cbt_detokenize, ptb_detokenize, wikitext_detokenize
from pipeline.benchmarks.files import (
    ChoiceExample,
    ClozeExample,
    Detokenizer,
    TextSpan,
    cbt_completions,
    load_cbt,
    load_enwik8,
    load_lambada,
    load_ptb,
    load_text8,
    load_wikitext,
)

# The paper's four models, by the name Table 3 gives them, with their parameter counts.
PAPER_MODELS: dict[str, float] = {"117M": 117e6, "345M": 345e6, "762M": 762e6, "1542M": 1542e6}


@dataclass(frozen=True)
class Metric:
    """A headline metric: its name as logged to MLflow (``{benchmark}_{metric}``), its column heading, whether it
    is shown as a percentage (logged as a fraction), and the paper's value for it per paper model."""

    name: str
    title: str
    percent: bool = False
    paper: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: ``filename`` is its release file's name under the eval data folder; ``reader(path, limit)``
    reads its examples, de-tokenized by ``detokenizer`` (None: the release is plain text); ``separator`` not None
    means the examples are scored as one stream joined by it (PTB, enwik8, text8), as the paper scored them."""

    name: str
    version: int
    filename: str
    description: str
    reader: Callable[..., list[Any]]
    detokenizer: Detokenizer | None
    metrics: tuple[Metric, ...]
    separator: str | None = None

    def load(self, path: Path, limit: int | None = None) -> list[Any]:
        """The first ``limit`` examples of the release file at ``path`` (an error naming the file and line)."""
        if self.detokenizer is None:
            return self.reader(Path(path), limit)
        return self.reader(Path(path), limit, detokenize=self.detokenizer)

    def reads(self, examples: Sequence[Any]) -> list[str]:
        """The texts the model reads, one per scored unit: a passage, an article, a whole stream."""
        texts = [model_text(example) for example in examples]
        return [self.separator.join(texts)] if self.separator is not None else texts

    def texts(self, path: Path) -> list[str]:
        """What the model reads of the whole release file at ``path``: the text decontamination cuts."""
        return self.reads(self.load(path))


def model_text(example: ClozeExample | TextSpan | ChoiceExample) -> str:
    """The text the model reads for one example: a LAMBADA passage with its last word, a de-tokenized span, a CBT
    story with its question completed by the right answer."""
    if isinstance(example, ClozeExample):
        return example.context + example.target
    if isinstance(example, TextSpan):
        return example.text
    return example.context + cbt_completions(example)[example.candidates.index(example.answer)]


def paper(small: float, medium: float, large: float, xl: float) -> dict[str, float]:
    """A Table 3 row's values for the paper's models, smallest first."""
    return dict(zip(PAPER_MODELS, (small, medium, large, xl), strict=True))


_ALL = (
    Benchmark(
        "lambada",
        1,
        "lambada_test.jsonl",
        "LAMBADA (OpenAI's), a passage's last word",
        load_lambada,
        None,
        (
            Metric("lambada_ppl", "LAMBADA (PPL)", paper=paper(35.13, 15.60, 10.87, 8.63)),
            Metric("lambada_acc", "LAMBADA (ACC)", True, paper(0.4599, 0.5548, 0.6012, 0.6324)),
        ),
    ),
    Benchmark(
        "cbt_cn",
        1,
        "cbtest_CN_test_2500ex.txt",
        "Children's Book Test, common nouns",
        load_cbt,
        cbt_detokenize,
        (Metric("cbt_cn_acc", "CBT-CN (ACC)", True, paper(0.8765, 0.9235, 0.9345, 0.9330)),),
    ),
    Benchmark(
        "cbt_ne",
        1,
        "cbtest_NE_test_2500ex.txt",
        "Children's Book Test, named entities",
        load_cbt,
        cbt_detokenize,
        (Metric("cbt_ne_acc", "CBT-NE (ACC)", True, paper(0.834, 0.871, 0.880, 0.8905)),),
    ),
    Benchmark(
        "wikitext2",
        1,
        "wikitext-2.test.txt",
        "WikiText-2 test, per article",
        load_wikitext,
        wikitext_detokenize,
        (Metric("wikitext2_word_ppl", "WikiText2 (PPL)", paper=paper(29.41, 22.76, 19.93, 18.34)),),
    ),
    Benchmark(
        "ptb",
        1,
        "ptb.test.txt",
        "Penn Treebank test (Mikolov's), one stream",
        load_ptb,
        ptb_detokenize,
        (Metric("ptb_word_ppl", "PTB (PPL)", paper=paper(65.85, 47.33, 40.31, 35.76)),),
        separator="\n",
    ),
    Benchmark(
        "enwik8",
        1,
        "enwik8.test",
        "enwik8, last 5M bytes, bits per byte",
        load_enwik8,
        None,
        (Metric("enwik8_bpb", "enwik8 (BPB)", paper=paper(1.16, 1.01, 0.97, 0.93)),),
        separator="",
    ),
    Benchmark(
        "text8",
        1,
        "text8.test",
        "text8, last 5M characters, bits per character",
        load_text8,
        None,
        (Metric("text8_bpc", "text8 (BPC)", paper=paper(1.17, 1.06, 1.02, 0.98)),),
        separator="",
    ),
    Benchmark(
        "wikitext103",
        1,
        "wikitext-103.test.txt",
        "WikiText-103 test, per article",
        load_wikitext,
        wikitext_detokenize,
        (Metric("wikitext103_word_ppl", "WikiText103 (PPL)", paper=paper(37.50, 26.37, 22.05, 17.48)),),
    ),
    # the bundled sample's held-out articles in LAMBADA's format (pipeline/sample/evalset.py): the offline demo's set
    Benchmark(
        "sample_lambada",
        1,
        "sample_lambada.jsonl",
        "the sample's own LAMBADA-format set",
        load_lambada,
        None,
        (
            Metric("sample_lambada_ppl", "sample LAMBADA (PPL)"),
            Metric("sample_lambada_acc", "sample LAMBADA (ACC)", True),
        ),
    ),
)
BENCHMARKS: dict[str, Benchmark] = {benchmark.name: benchmark for benchmark in _ALL}
HEADLINE_METRICS: tuple[Metric, ...] = tuple(metric for benchmark in _ALL for metric in benchmark.metrics)


def benchmarks_of(metric_names: Iterable[str]) -> list[str]:
    """The benchmarks with a metric among ``metric_names`` (evaluation logs ``{benchmark}_{metric}``), in registry
    order; other names (``n_params``, ``train_loss``) belong to none."""
    names = set(metric_names)
    return [name for name in BENCHMARKS if any(metric.startswith(f"{name}_") for metric in names)]


def not_decontaminated(evaluated: Iterable[str], decontaminated: Iterable[str]) -> list[str]:
    """The evaluated benchmarks (registry names) that decontamination did not cut, in registry order: scores on
    them may count text the model was trained on."""
    wanted, cut = set(evaluated), set(decontaminated)
    return [name for name in BENCHMARKS if name in wanted and name not in cut]
