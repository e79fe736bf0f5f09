"""The task registry and the release-file loaders: formats, `limit`, errors that name the file and line, and the
real files in ../shared/data/eval when present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_model import ByteModel, CountingModel

from evaluation.tasks import TASKS, EvalOptions, Task
from pipeline.benchmarks import files as benchmark_files
from pipeline.benchmarks.files import (
    EvalDataError,
    MissingDataFile,
    load_cbt,
    load_enwik8,
    load_lambada,
    load_ptb,
    load_text8,
    load_wikitext,
)
from pipeline.benchmarks.registry import BENCHMARKS


def test_registry_names_files_and_versions() -> None:
    paper = ["lambada", "cbt_cn", "cbt_ne", "wikitext2", "ptb", "enwik8", "text8", "wikitext103"]  # Table 3's order
    assert list(TASKS) == [*paper, "sample_lambada"]
    assert {name: task.filename for name, task in TASKS.items()} == {
        "lambada": "lambada_test.jsonl",
        "wikitext2": "wikitext-2.test.txt",
        "wikitext103": "wikitext-103.test.txt",
        "ptb": "ptb.test.txt",
        "enwik8": "enwik8.test",
        "text8": "text8.test",
        "cbt_cn": "cbtest_CN_test_2500ex.txt",
        "cbt_ne": "cbtest_NE_test_2500ex.txt",
        "sample_lambada": "sample_lambada.jsonl",
    }
    for name, task in TASKS.items():
        assert isinstance(task, Task) and task.name == name and task.version >= 1 and task.description
        assert task.benchmark is BENCHMARKS[name]  # every benchmark of the registry is a task, with its scorer


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# LAMBADA


def test_lambada_splits_off_the_last_word(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "l.jsonl", [json.dumps({"text": t}) for t in ["a b c", "x  y", "one two"]])
    examples = load_lambada(path)
    assert [(e.context, e.target) for e in examples] == [("a b", " c"), ("x ", " y"), ("one", " two")]
    assert load_lambada(path, limit=2) == examples[:2]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not a JSON object"),
        ('{"passage": "a b"}', 'string "text"'),
        ('["a b"]', 'string "text"'),
        ('{"text": "single"}', "context and a last word"),
        ('{"text": "ends with space "}', "context and a last word"),
        ("", "not a JSON object"),
    ],
)
def test_lambada_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write_lines(tmp_path / "l.jsonl", ['{"text": "a b"}', line, '{"text": "c d"}'])
    with pytest.raises(EvalDataError, match=message) as error:
        load_lambada(path)
    assert str(error.value).startswith(f"{path}:2: ")


def test_missing_empty_and_undecodable_files(tmp_path: Path) -> None:
    missing = tmp_path / "absent.jsonl"
    with pytest.raises(MissingDataFile, match=f"{missing}: file not found") as error:
        load_lambada(missing)
    assert isinstance(error.value, FileNotFoundError)  # callers may catch either
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n\n", encoding="utf-8")
    for load in (load_lambada, load_wikitext, load_ptb, load_enwik8, load_text8, load_cbt):
        with pytest.raises(EvalDataError, match=f"{empty}: file is empty"):
            load(empty)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b" first line \n caf\xe9 \n")
    with pytest.raises(EvalDataError, match=f"{latin1}:2: not UTF-8"):
        load_ptb(latin1)


@pytest.mark.parametrize("limit", [0, -3, 2.0, True])
def test_limit_must_be_a_positive_integer(tmp_path: Path, limit: object) -> None:
    with pytest.raises(ValueError, match="limit"):
        load_ptb(write_lines(tmp_path / "p.txt", [" a "]), limit)  # type: ignore[arg-type]


# WikiText

SMALL_WIKI = (
    " \n"
    " = Alpha = \n"
    " \n"
    " Alpha is a letter . \n"
    " \n"
    " = = History = = \n"
    " \n"
    " = = = Early = = = \n"
    " It came first . \n"
    " \n"
    " = Beta ( letter ) = \n"
    " \n"
    " Beta 's turn . \n"
    " \n"
)


def test_wikitext_splits_articles_at_top_level_titles(tmp_path: Path) -> None:
    path = tmp_path / "wiki.txt"
    path.write_text(SMALL_WIKI, encoding="utf-8")
    articles = load_wikitext(path)
    assert [a.original for a in articles] == [
        " = Alpha = \n \n Alpha is a letter . \n \n = = History = = \n \n = = = Early = = = \n It came first . \n ",
        " = Beta ( letter ) = \n \n Beta 's turn . \n \n",
    ]
    assert articles[1].text == " = Beta (letter) =\n\nBeta's turn.\n\n"
    assert load_wikitext(path, limit=1) == articles[:1]


def test_wikitext_title_rule() -> None:
    assert benchmark_files.is_wikitext_title(" = Robert <unk> = ")
    assert benchmark_files.is_wikitext_title(" = 2000 – 2005 = ")
    assert not benchmark_files.is_wikitext_title(" = = Career = = ")
    assert not benchmark_files.is_wikitext_title(" = = = Early life = = = ")
    assert not benchmark_files.is_wikitext_title(" x = y = z ")


def test_wikitext_without_titles_is_rejected(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "ptb-like.txt", [" no it was n't black monday "])
    with pytest.raises(EvalDataError, match="no article title line"):
        load_wikitext(path)


def real_file(shared_data: Path, name: str) -> Path:
    path = shared_data / "eval" / name
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def test_wikitext2_test_has_lm_eval_s_62_articles(shared_data: Path) -> None:
    articles = load_wikitext(real_file(shared_data, "wikitext-2.test.txt"))
    assert len(articles) == 62
    assert articles[0].original.startswith(" = Robert <unk> = \n \n Robert <unk> is an English film ,")
    assert articles[-1].original.startswith(" = The <unk> ( film ) = \n")
    # every line of the file but the blank first one belongs to exactly one article
    text = (shared_data / "eval" / "wikitext-2.test.txt").read_text(encoding="utf-8")
    assert "\n".join(a.original for a in articles) == text.removeprefix(" \n")
    assert (
        load_wikitext(real_file(shared_data, "wikitext-2.valid.txt"), limit=5)
        == load_wikitext(real_file(shared_data, "wikitext-2.valid.txt"))[:5]
    )


# LAMBADA, PTB: real files


def test_lambada_real_file(shared_data: Path) -> None:
    examples = load_lambada(real_file(shared_data, "lambada_test.jsonl"))
    assert len(examples) == 5153
    assert all(e.target.startswith(" ") and " " not in e.target[1:] and e.context for e in examples)
    assert examples[0].target == " signs"


def test_ptb_real_file(shared_data: Path) -> None:
    sentences = load_ptb(real_file(shared_data, "ptb.test.txt"))
    assert len(sentences) == 3762
    assert sentences[0].original == " no it was n't black monday "
    assert sentences[-1].original.endswith(" we may not see them here with us ")
    assert sum(len(s.original.split()) for s in sentences) == 78623


def test_ptb_limit_counts_sentences_and_blank_lines_are_errors(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "ptb.txt", [" one ", " two ", " three "])
    assert [s.text for s in load_ptb(path, limit=2)] == ["one", "two"]
    model = ByteModel()
    TASKS["ptb"].score(model, load_ptb(path, limit=2), EvalOptions())
    assert model.rolled == ["one\ntwo"]
    write_lines(path, [" one ", "  ", " three "])
    with pytest.raises(EvalDataError, match=f"{path}:2: blank line"):
        load_ptb(path)


# enwik8, text8


def test_full_corpus_files_are_cut_to_their_last_five_million(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The rule at a small scale: a file of FULL_CORPUS_SIZE keeps its last TEST_SPLIT_SIZE, any other file is
    already the test split."""
    monkeypatch.setattr(benchmark_files, "FULL_CORPUS_SIZE", 20)
    monkeypatch.setattr(benchmark_files, "TEST_SPLIT_SIZE", 5)
    full = tmp_path / "full"
    full.write_bytes(b"abcdefghijklmnopqrst")
    assert [s.original for s in load_text8(full)] == ["pqrst"]
    assert [s.original for s in load_enwik8(full)] == ["pqrst"]
    split = tmp_path / "split"
    split.write_bytes(b"abcdefghijklmnopqrs")
    assert [s.original for s in load_text8(split)] == ["abcdefghijklmnopqrs"]
    monkeypatch.undo()
    assert (benchmark_files.FULL_CORPUS_SIZE, benchmark_files.TEST_SPLIT_SIZE) == (100_000_000, 5_000_000)


def test_enwik8_lines_concatenate_back_to_the_file(tmp_path: Path) -> None:
    data = "<page>\n<title>Ærø</title>\r\n\n  text".encode()
    path = tmp_path / "enwik8.test"
    path.write_bytes(data)
    lines = load_enwik8(path)
    assert "".join(s.original for s in lines).encode("utf-8", "surrogateescape") == data
    assert [s.text for s in load_enwik8(path, limit=2)] == ["<page>\n", "<title>Ærø</title>\r\n"]


def test_text8_chunks_and_alphabet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(benchmark_files, "TEXT8_CHUNK_CHARS", 4)
    path = tmp_path / "text8.test"
    path.write_bytes(b" the cat sat")
    assert [s.text for s in load_text8(path)] == [" the", " cat", " sat"]
    assert [s.text for s in load_text8(path, limit=2)] == [" the", " cat"]
    path.write_bytes(b" the Cat\n")
    with pytest.raises(EvalDataError, match=f"{path}:1: byte b'C' at offset 5"):
        load_text8(path)


# CBT


def cbt_block(question: str = "He ate the XXXXX .", answer: str = "apple", story_lines: int = 20) -> list[str]:
    story = [f"{n} `` Sentence number {n} , '' said the boy ." for n in range(1, story_lines + 1)]
    candidates = "|".join(["pear", "apple", "plum", "fig", "lime", "kiwi", "date", "peach", "grape", "melon"])
    return [*story, f"{story_lines + 1} {question}\t{answer}\t\t{candidates}", ""]


def test_cbt_examples(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "cbt.txt", cbt_block() + cbt_block("The XXXXX was ripe .", "fig"))
    examples = load_cbt(path)
    assert len(examples) == 2
    first = examples[0]
    assert first.context.startswith('"Sentence number 1," said the boy. "Sentence number 2," said the boy.')
    assert first.context.endswith('"Sentence number 20," said the boy.')
    assert first.question == "He ate the XXXXX ." and first.answer == "apple" and len(first.candidates) == 10
    assert examples[1].answer == "fig"
    assert load_cbt(path, limit=1) == examples[:1]


@pytest.mark.parametrize(
    ("block", "line", "message"),
    [
        (cbt_block(question="He ate the apple ."), 21, "XXXXX exactly once"),
        (cbt_block(answer="banana"), 21, "not among candidates"),
        ([*cbt_block()[:20], "21 He ate the XXXXX ."], 21, "question<TAB>answer"),
        (["1 First .", "3 Third ."], 2, "expected a line numbered 2"),
        (["1 First .", "", "2 Second ."], 2, "blank line before the story's question"),
    ],
)
def test_cbt_errors_name_file_and_line(tmp_path: Path, block: list[str], line: int, message: str) -> None:
    path = write_lines(tmp_path / "cbt.txt", block)
    with pytest.raises(EvalDataError, match=message) as error:
        load_cbt(path)
    assert str(error.value).startswith(f"{path}:{line}: ")


def test_cbt_file_ending_inside_a_story(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "cbt.txt", ["1 First .", "2 Second ."])
    with pytest.raises(EvalDataError, match="ends inside a story"):
        load_cbt(path)


# scoring guards


def test_scoring_nothing_or_a_short_answer_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no examples"):
        TASKS["wikitext2"].score(ByteModel(), [], EvalOptions())
    path = write_lines(tmp_path / "lambada_test.jsonl", [json.dumps({"text": "a b"}), json.dumps({"text": "c d"})])
    with pytest.raises(RuntimeError, match="1 results for 2 requests"):
        TASKS["lambada"].score(CountingModel(), load_lambada(path), EvalOptions())


def test_evaluate_reads_the_release_file_under_the_data_folder(tmp_path: Path) -> None:
    write_lines(tmp_path / "ptb.test.txt", [" a b ", " c d ", " e f "])
    scores = TASKS["ptb"].evaluate(ByteModel(), tmp_path, limit=2)
    assert scores["examples"] == 2.0
    with pytest.raises(MissingDataFile, match="lambada_test.jsonl: file not found"):
        TASKS["lambada"].evaluate(ByteModel(), tmp_path)
