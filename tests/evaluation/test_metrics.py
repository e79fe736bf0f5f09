"""Metric math against hand-computed values, through the tasks' own scorers and models with known probabilities
(``fake_model``): the uniform byte model scores a text of n bytes as -n·ln 256."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from fake_model import ByteModel, ScriptedModel

from evaluation.metrics import (
    bits_per_unit,
    count_bytes,
    count_words,
    perplexity,
    text_metrics,
    weighted_perplexity,
)
from evaluation.tasks import TASKS, EvalOptions
from pipeline.benchmarks.files import ChoiceExample, TextSpan


def test_word_count_is_lm_eval_s_whitespace_split() -> None:
    # re.split(r"\s+") keeps an empty "word" at each end that starts or ends with whitespace
    assert count_words("one two") == 2
    assert count_words(" one  two \n") == 4
    assert count_words(" = Tiny = \n \n It 's 1 @,@ 000 . \n") == 11


def test_byte_count_is_utf8_and_exact_for_escaped_bytes() -> None:
    assert count_bytes("abc") == 3
    assert count_bytes("25 °C – ok") == 13  # ° is 2 bytes, – is 3
    assert count_bytes(b"\xe2\x80x".decode("utf-8", "surrogateescape")) == 3  # a cut character counts its bytes


def test_aggregations() -> None:
    assert perplexity([-1.0, -2.0, -3.0]) == pytest.approx(math.exp(2.0))
    assert weighted_perplexity(-10.0, 5) == pytest.approx(math.exp(2.0))
    assert bits_per_unit(-8 * math.log(2), 4) == pytest.approx(2.0)
    assert perplexity([-1e6]) == math.inf  # a hopeless model is inf, not an OverflowError
    with pytest.raises(ValueError, match="no examples"):
        perplexity([])
    with pytest.raises(ValueError, match="0 units"):
        weighted_perplexity(-1.0, 0)


def test_lambada_accuracy_and_perplexity(tmp_path: Path) -> None:
    path = tmp_path / "lambada_test.jsonl"
    texts = ["He walked the dog", "She fed\nthe cat", "They saw the sun"]
    path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    table = {" dog": (-1.0, True), " cat": (-2.0, False), " sun": (-3.0, True)}
    model = ScriptedModel(lambda context, continuation: table[continuation])
    scores = TASKS["lambada"].evaluate(model, tmp_path)
    assert scores == {"acc": pytest.approx(2 / 3), "ppl": pytest.approx(math.exp(2.0)), "examples": 3.0}
    assert model.requests == [("He walked the", " dog"), ("She fed\nthe", " cat"), ("They saw the", " sun")]


TINY_WIKI = " \n = Tiny = \n \n It 's 1 @,@ 000 . \n"


def test_wikitext_word_and_byte_perplexity(tmp_path: Path) -> None:
    """One article: original " = Tiny = \\n \\n It 's 1 @,@ 000 . \\n" has 11 words (lm-eval's count: 9 tokens and
    an empty one at each end) and 33 bytes; the model reads " = Tiny =\\n\\nIt's 1,000.\\n", 23 bytes."""
    (tmp_path / "wikitext-2.test.txt").write_text(TINY_WIKI, encoding="utf-8")
    model = ByteModel()
    scores = TASKS["wikitext2"].evaluate(model, tmp_path)
    assert model.rolled == [" = Tiny =\n\nIt's 1,000.\n"]
    assert scores["word_ppl"] == pytest.approx(256 ** (23 / 11))
    assert scores["byte_ppl"] == pytest.approx(256 ** (23 / 33))
    assert scores["bpb"] == pytest.approx(23 * 8 / 33)
    assert scores["tokens"] == 23.0 and scores["examples"] == 1.0


def test_rolling_metrics_sum_over_articles_before_dividing() -> None:
    """lm-eval's weighted perplexity: Σ log-likelihood / Σ words, not a mean of per-article perplexities."""
    results = [(-10.0, 4), (-30.0, 6)]
    scores = text_metrics(results, ["a b c d", "e f g h i j k l m n"], examples=2)
    assert scores["word_ppl"] == pytest.approx(math.exp(40 / 14))
    assert scores["bpb"] == pytest.approx(40 / (7 + 19) / math.log(2))
    assert scores["tokens"] == 10.0


def test_stride_reaches_the_model() -> None:
    model = ByteModel()
    TASKS["wikitext2"].score(model, [TextSpan(original="a b", text="a b")], EvalOptions(stride=8))
    TASKS["ptb"].score(model, [TextSpan(original="a b", text="a b")], EvalOptions())
    assert model.strides == [8, None]


def test_ptb_scores_the_sentences_as_one_stream(tmp_path: Path) -> None:
    (tmp_path / "ptb.test.txt").write_text(" it was n't N \n he 's here \n", encoding="utf-8")
    model = ByteModel()
    scores = TASKS["ptb"].evaluate(model, tmp_path)
    assert model.rolled == ["it wasn't 1\nhe's here"]  # 21 bytes
    # the original stream " it was n't N \n he 's here " has 27 bytes and 9 words (7 and an empty one at each end)
    assert scores["word_ppl"] == pytest.approx(256 ** (21 / 9))
    assert scores["bpb"] == pytest.approx(21 * 8 / 27)
    assert scores["examples"] == 2.0


def test_enwik8_bits_per_byte(tmp_path: Path) -> None:
    (tmp_path / "enwik8.test").write_bytes("<page>\n  <title>Café</title>\n".encode())
    model = ByteModel()
    scores = TASKS["enwik8"].evaluate(model, tmp_path)
    assert model.rolled == ["<page>\n  <title>Café</title>\n"]
    assert scores == {"bpb": pytest.approx(8.0), "tokens": 30.0, "examples": 2.0}


def test_enwik8_normalises_by_the_file_s_bytes_even_at_a_cut_character(tmp_path: Path) -> None:
    """A split that starts inside "é" (0xC3 0xA9): the model reads U+FFFD (3 bytes) for the lone 0xA9, the
    metric still divides by the file's 4 bytes."""
    (tmp_path / "enwik8.test").write_bytes(b"\xa9abc")
    model = ByteModel()
    scores = TASKS["enwik8"].evaluate(model, tmp_path)
    assert model.rolled == ["\ufffdabc"]
    assert scores["bpb"] == pytest.approx(6 * 8 / 4)


def test_text8_bits_per_character(tmp_path: Path) -> None:
    (tmp_path / "text8.test").write_bytes(b" anarchism originated as a term")
    scores = TASKS["text8"].evaluate(ByteModel(), tmp_path)
    assert scores == {"bpc": pytest.approx(8.0), "tokens": 31.0, "examples": 1.0}


def cbt_example(answer: str, candidates: tuple[str, ...]) -> ChoiceExample:
    return ChoiceExample(
        context="Once upon a time.", question="He ate the XXXXX .", candidates=candidates, answer=answer
    )


def test_cbt_picks_the_candidate_with_the_highest_likelihood() -> None:
    model = ScriptedModel(lambda context, continuation: (-1.0 if "apple" in continuation else -5.0, False))
    examples = [cbt_example("apple", ("pear", "apple", "plum")), cbt_example("pear", ("pear", "apple", "plum"))]
    scores = TASKS["cbt_cn"].score(model, examples, EvalOptions())
    assert scores == {"acc": 0.5, "examples": 2.0}
    # each candidate completes the question, which is scored given the story
    assert model.requests[:3] == [
        ("Once upon a time.", " He ate the pear."),
        ("Once upon a time.", " He ate the apple."),
        ("Once upon a time.", " He ate the plum."),
    ]


def test_cbt_breaks_ties_towards_the_first_candidate() -> None:
    model = ScriptedModel(lambda context, continuation: (-2.0, False))
    examples = [cbt_example("pear", ("pear", "apple")), cbt_example("apple", ("pear", "apple"))]
    assert TASKS["cbt_ne"].score(model, examples, EvalOptions())["acc"] == 0.5


def test_cbt_scores_whole_likelihood_not_per_token() -> None:
    """The paper compares probabilities: a longer candidate pays for its extra bytes (no length normalisation)."""
    examples = [cbt_example("hippopotamus", ("hippopotamus", "ox"))]
    assert TASKS["cbt_cn"].score(ByteModel(), examples, EvalOptions())["acc"] == 0.0
