"""The benchmark registry: one entry per benchmark with its file, reader, de-tokenizer, headline metrics and the
GPT-2 paper's numbers by metric name; what the model reads of each; the real release files when present."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pipeline.benchmarks.files import ChoiceExample, ClozeExample, TextSpan
from pipeline.benchmarks.registry import (
    BENCHMARKS,
    HEADLINE_METRICS,
    PAPER_MODELS,
    benchmarks_of,
    not_decontaminated,
)


def test_every_benchmark_names_its_file_metrics_and_the_papers_numbers() -> None:
    assert list(BENCHMARKS)[:8] == ["lambada", "cbt_cn", "cbt_ne", "wikitext2", "ptb", "enwik8", "text8", "wikitext103"]
    names = [metric.name for metric in HEADLINE_METRICS]
    assert len(set(names)) == len(names)
    for name, benchmark in BENCHMARKS.items():
        assert benchmark.name == name and benchmark.version >= 1 and benchmark.filename and benchmark.metrics
        assert all(benchmark_name == name for benchmark_name in benchmarks_of(m.name for m in benchmark.metrics))
        for metric in benchmark.metrics:
            assert metric.paper is None or set(metric.paper) == set(PAPER_MODELS)
    paper = {metric.name: metric.paper for metric in HEADLINE_METRICS if metric.paper}
    assert len(paper) == 9 and "sample_lambada_ppl" not in paper  # Table 3's nine columns
    assert paper["lambada_ppl"]["1542M"] == 8.63 and paper["ptb_word_ppl"]["117M"] == 65.85
    assert paper["cbt_ne_acc"]["1542M"] == 0.8905 and paper["wikitext103_word_ppl"]["345M"] == 26.37


def test_the_registrys_detokenizer_is_the_one_the_reader_applies(tmp_path: Path) -> None:
    path = tmp_path / "ptb.txt"
    path.write_text(" they do n't \n it 's $ N \n")
    assert [span.text for span in BENCHMARKS["ptb"].load(path)] == ["they don't", "it's $1"]
    shouting = dataclasses.replace(BENCHMARKS["ptb"], detokenizer=str.upper)
    assert [span.text for span in shouting.load(path, limit=1)] == [" THEY DO N'T "]


def test_what_the_model_reads_of_each_kind_of_example() -> None:
    assert BENCHMARKS["lambada"].reads([ClozeExample("a b", " c"), ClozeExample("d", " e")]) == ["a b c", "d e"]
    spans = [TextSpan("a 's", "a's"), TextSpan("b", "b")]
    assert BENCHMARKS["wikitext2"].reads(spans) == ["a's", "b"]  # one text per article
    assert BENCHMARKS["ptb"].reads(spans) == ["a's\nb"]  # one stream, as it is scored
    assert BENCHMARKS["enwik8"].reads(spans) == ["a'sb"]
    question = ChoiceExample("The cat sat.", "The XXXXX ran .", ("dog", "cat"), "cat")
    assert BENCHMARKS["cbt_cn"].reads([question]) == ["The cat sat. The cat ran."]


def test_benchmarks_of_metric_names_and_the_sets_left_uncut() -> None:
    logged = ["sample_lambada_acc", "lambada_ppl", "wikitext2_word_ppl", "n_params", "train_loss"]
    assert benchmarks_of(logged) == ["lambada", "wikitext2", "sample_lambada"]
    assert benchmarks_of(["wikitext103_bpb"]) == ["wikitext103"]  # not wikitext2's
    assert not_decontaminated(["sample_lambada", "lambada", "wikitext2"], ["sample_lambada", "wikitext2"]) == [
        "lambada"
    ]
    assert not_decontaminated(["lambada"], ["lambada", "mine"]) == []


def test_a_bad_release_file_is_an_error_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "lambada.jsonl"
    path.write_text(json.dumps({"text": "one two"}) + "\n" + json.dumps({"txt": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"lambada.jsonl:2"):
        BENCHMARKS["lambada"].texts(path)


def test_the_shared_release_files_are_the_registrys(shared_data: Path) -> None:
    """../shared/data/eval holds LAMBADA, WikiText-2 and PTB under the names the registry looks for."""
    folder = shared_data / "eval"
    for name in ("lambada", "wikitext2", "ptb"):
        assert (folder / BENCHMARKS[name].filename).is_file(), f"{name}: {BENCHMARKS[name].filename} not in {folder}"
    lines = (folder / "lambada_test.jsonl").read_text(encoding="utf-8").splitlines()
    passages = BENCHMARKS["lambada"].texts(folder / "lambada_test.jsonl")
    assert passages == [json.loads(line)["text"] for line in lines] and len(passages) == 5153
    (stream,) = BENCHMARKS["ptb"].texts(folder / "ptb.test.txt")
    assert stream.count("\n") + 1 == len((folder / "ptb.test.txt").read_text().splitlines())
