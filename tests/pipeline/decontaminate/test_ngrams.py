"""GPT-2's word rule, n-gram hashes, GPT-3's cutting rule and the eval-set readers, on hand-checked cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.ngrams import (
    distinct,
    joined_words,
    ngrams_within,
    text_batches,
    texts_words,
    words_of,
)
from pipeline.decontaminate.spans import CutRules, cut, matched_spans


def normalised_text(text: str) -> str:
    """GPT-2's normalisation spelt out: the words, lower case, separated by single spaces."""
    return " ".join(words_of(text).words)


def ngram_hashes(words: list[str], n: int) -> np.ndarray:
    return words_of(" ".join(words)).ngrams(n)


def text_ngrams(text: str, n: int) -> np.ndarray:
    return distinct(words_of(text).ngrams(n))


WIKITEXT = " He had a guest @-@ starring role on the television series The Bill in 2000 . \n"
WEB = "He had a guest-starring role on the television series “The Bill” in 2000."


def test_tokenised_eval_text_and_running_web_text_give_the_same_words() -> None:
    assert normalised_text(WIKITEXT) == normalised_text(WEB)
    assert normalised_text(WEB) == "he had a guest starring role on the television series the bill in 2000"
    assert normalised_text("Café déjà-vu, naïve!") == "caf d j vu na ve"  # ASCII letters and digits only
    words = words_of("  Hello,\nWORLD 42")
    assert words.words == ["hello", "world", "42"] and words.starts.tolist() == [2, 9, 15]


def test_ngram_hashes_match_across_line_breaks_and_punctuation() -> None:
    assert np.array_equal(text_ngrams(WIKITEXT, 8), text_ngrams(WEB, 8))
    assert len(text_ngrams(WEB, 8)) == 14 - 8 + 1  # 14 words
    hashes = ngram_hashes("a b c a b c".split(), 3)
    assert hashes[0] == hashes[3] and len(set(hashes.tolist())) == 3  # order matters: abc, bca, cab
    assert len(ngram_hashes(["too", "short"], 3)) == 0


def test_a_matched_span_is_cut_with_its_margin_and_the_rest_survives_byte_for_byte() -> None:
    before, passage, after = "A" * 300 + " ", "the quoted passage itself", " " + "Z" * 300
    text = before + passage + after
    words = words_of(text)
    matched = np.zeros(len(words) - 3 + 1, dtype=bool)
    matched[1] = True  # "the quoted passage"
    spans = matched_spans(words, matched, 3)
    assert [text[start:end] for start, end in spans] == ["the quoted passage"]
    result = cut(text, spans, CutRules(margin=20, min_piece_chars=50))
    start, end = spans[0]
    assert result.text == text[: start - 20] + "\n\n" + text[end + 20 :]
    assert result.pieces == 2 and result.removed == [(start - 20, end + 20)]


def test_short_pieces_go_and_a_document_cut_into_too_many_pieces_goes_whole() -> None:
    text = "x" * 1000
    spans = [(100, 110), (400, 410)]
    trimmed = cut(text, spans, CutRules(margin=10, min_piece_chars=200))
    assert trimmed.text == text[120:390] + "\n\n" + text[420:]  # the 90-character head is too short to keep
    assert trimmed.removed == [(0, 120), (390, 420)] and trimmed.removed_chars == 150
    many = [(position, position + 5) for position in range(0, 1000, 80)]  # 13 cuts: 14 pieces
    dropped = cut(text, many, CutRules(margin=10, min_piece_chars=10, max_pieces=10))
    assert dropped.text is None and dropped.pieces > 10 and dropped.removed_chars == 1000
    assert cut(text, [], CutRules()).text == text


def test_own_eval_sets_read_by_format(tmp_path: Path) -> None:
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text(json.dumps({"text": "one two three four"}) + "\n\n" + json.dumps({"text": "five six"}) + "\n")
    mine = EvalSet.parse(f"mine={jsonl}")
    assert (mine.format, list(mine.texts())) == ("jsonl", ["one two three four", "five six"])
    assert len(mine.ngrams(2)) == 3 + 1  # n-grams never span two examples
    forced = EvalSet.parse(f"ptb=text:{jsonl}")  # a format given: read that way, whatever the name
    assert forced.format == "text" and list(forced.texts()) == [jsonl.read_text()]
    assert EvalSet.parse(f"notes={tmp_path / 'notes.txt'}").format == "text"


def test_a_benchmark_name_is_read_as_evaluation_reads_it(tmp_path: Path) -> None:
    """WikiText per article and de-tokenized, PTB de-tokenized as one stream: the text the model is scored on."""
    wiki = tmp_path / "wiki.txt"
    wiki.write_text(
        "\n = Tu Fu = \n\n Tu Fu was a guest @-@ star . \n = Li Bai = \n\n Li Bai wrote 1 @,@ 000 poems . \n"
    )
    wikitext2 = EvalSet.parse(f"wikitext2={wiki}")
    assert wikitext2.format == "benchmark"
    assert list(wikitext2.texts()) == [
        " = Tu Fu =\n\nTu Fu was a guest-star. ",
        " = Li Bai =\n\nLi Bai wrote 1,000 poems.\n",
    ]
    ptb = tmp_path / "ptb.txt"
    ptb.write_text(" he says they do n't pay $ N \n the company 's shares fell \n")
    assert list(EvalSet.parse(f"ptb={ptb}").texts()) == ["he says they don't pay $1\nthe company's shares fell"]
    assert list(EvalSet.parse(f"ptb=text:{ptb}").texts()) == [ptb.read_text()]
    lines = tmp_path / "lambada.jsonl"
    lines.write_text(json.dumps({"text": "one two three"}) + "\n\n")  # the strict reader refuses a blank line
    with pytest.raises(ValueError, match=r"eval set lambada: .*lambada.jsonl:2"):
        list(EvalSet.parse(f"lambada={lines}").texts())
    assert EvalSet.of_benchmark("lambada", lines) == EvalSet.parse(f"lambada={lines}")
    with pytest.raises(ValueError, match="not a registered benchmark"):
        EvalSet.of_benchmark("mine", lines)


@pytest.mark.parametrize(
    ("content", "spec", "message"),
    [
        (None, "x={path}", "not found"),
        ("", "x={path}", "has no 8-gram"),
        ('{"text": "a"}\nnot json\n', "x=jsonl:{path}", "line 2 is not JSON"),
        ('{"txt": "a"}\n', "x=jsonl:{path}", "line 1 has no 'text'"),
        (b"\xff\xfe bad", "x={path}", "not UTF-8"),
    ],
)
def test_bad_eval_files_are_named(tmp_path: Path, content: str | bytes | None, spec: str, message: str) -> None:
    path = tmp_path / "eval.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises((ValueError, FileNotFoundError), match=message) as caught:
        EvalSet.parse(spec.format(path=path)).ngrams(8)
    assert "eval.txt" in str(caught.value)


@pytest.mark.parametrize("spec", ["nameonly", "=path", "bad name=x.txt"])
def test_bad_eval_specs_are_named(spec: str) -> None:
    with pytest.raises(ValueError, match="NAME=PATH"):
        EvalSet.parse(spec)


def test_an_unknown_format_is_named() -> None:
    with pytest.raises(ValueError, match="unknown format 'csv'"):
        EvalSet.parse("squad=csv:squad.csv")


def test_real_eval_sets_read(shared_data: Path) -> None:
    for spec in ("lambada=lambada_test.jsonl", "wikitext2=wikitext-2.test.txt", "ptb=ptb.test.txt"):
        name, file = spec.split("=")
        assert len(EvalSet.parse(f"{name}={shared_data / 'eval' / file}").ngrams(13)) > 50_000


def test_real_benchmarks_cut_what_evaluation_scores(shared_data: Path) -> None:
    """LAMBADA's passages are its lines' text; WikiText-2's articles are evaluation's, de-tokenized (no n-gram
    runs across two articles); PTB is de-tokenized (``don't``, as the web writes it)."""
    from pipeline.benchmarks.registry import BENCHMARKS

    folder = shared_data / "eval"
    lambada = EvalSet.parse(f"lambada={folder / 'lambada_test.jsonl'}")
    assert list(lambada.texts()) == list(EvalSet.parse(f"lambada=jsonl:{folder / 'lambada_test.jsonl'}").texts())
    articles = BENCHMARKS["wikitext2"].load(folder / "wikitext-2.test.txt")
    texts = list(EvalSet.parse(f"wikitext2={folder / 'wikitext-2.test.txt'}").texts())
    assert texts == [article.text for article in articles] and " @-@ " not in "".join(texts)
    (ptb,) = EvalSet.parse(f"ptb={folder / 'ptb.test.txt'}").texts()
    assert " n't" not in ptb and "n't" in ptb


def test_vectorised_words_equal_the_plain_rule_on_any_text() -> None:
    """Spans and hashes from the byte-level fast path equal a regex over the text, non-ASCII text included."""
    import re

    rng = np.random.default_rng(5)
    alphabet = [*"abcXYZ019 ,.-'\n\té€日本", "\U0001f600"]
    for _ in range(50):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(0, 120))))
        expected = [(m.start(), m.end(), m.group().lower()) for m in re.finditer(r"[A-Za-z0-9]+", text)]
        words = words_of(text)
        assert list(zip(words.starts.tolist(), words.ends.tolist(), words.words, strict=True)) == expected
        assert np.array_equal(words.hashes, words_of(" ".join(word for _, _, word in expected)).hashes)
    assert len(set(words_of("a b ab ba aa bb 1 11 a1 1a").hashes.tolist())) == 10


def test_several_sizes_in_one_pass_and_many_texts_at_once_hash_as_one_at_a_time() -> None:
    rng = np.random.default_rng(8)
    vocabulary = ["tide", "harbour", "Gull", "rope", "42"]
    texts = [" ".join(rng.choice(vocabulary, size=int(rng.integers(0, 30)))) for _ in range(40)]
    all_words = [words_of(text) for text in texts]
    for words in all_words:
        by_size = words.ngrams_of_sizes((8, 13, 1))
        for n in (1, 8, 13):
            assert np.array_equal(by_size[n], words.ngrams(n))
    hashes = np.concatenate([np.empty(0, np.uint64), *(words.hashes for words in all_words)])
    ends = np.cumsum([len(words) for words in all_words])
    for n in (1, 8, 13, 40):  # none spans two texts: the texts' own n-grams, in order
        expected = np.concatenate([np.empty(0, np.uint64), *(words.ngrams(n) for words in all_words)])
        assert np.array_equal(ngrams_within(hashes, ends, n), expected)
    assert len(ngrams_within(np.empty(0, np.uint64), np.empty(0, np.int64), 8)) == 0


def test_texts_joined_hash_as_each_text_alone() -> None:
    """The stage hashes a batch of documents at once: the same words, none across two documents, wherever the
    batches split (non-ASCII text, empty texts, texts ending and starting inside a word)."""
    texts = ["Café déjà-vu, naïve!", "", "tide", "harbour gull", "", "Rope 42 ", " 7x ü", "end"] * 5
    alone = [words_of(text).hashes for text in texts]
    hashes, ends = joined_words(texts)
    assert ends.tolist() == np.cumsum([len(words) for words in alone]).tolist()
    assert np.array_equal(hashes, np.concatenate(alone))
    for batch_chars in (1, 7, 50, 1 << 20):
        batches = list(text_batches(texts, batch_chars))
        assert [start for start, _ in batches] == [0, *(stop for _, stop in batches[:-1])] and batches[-1][1] == 40
        batched, batched_ends = texts_words(texts, batch_chars)
        assert np.array_equal(batched, hashes) and np.array_equal(batched_ends, ends)
    for n in (1, 2, 3):
        expected = np.concatenate([np.empty(0, np.uint64), *(words_of(text).ngrams(n) for text in texts)])
        assert np.array_equal(ngrams_within(hashes, ends, n), expected)
    assert [len(part) for part in joined_words([])] == [0, 0] and list(text_batches([])) == []
