"""Readers of the benchmark release files, strict about their format: a wrong or damaged file must fail naming the
file and line, not turn into a quietly different score. ``limit`` keeps the first N examples in file order.

Evaluation scores what these return and decontamination cuts their text from the corpus, so both see the same
examples; a reader that de-tokenizes takes its de-tokenizer from the registry (``registry.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from pipeline.benchmarks.detokenize import cbt_detokenize, ptb_detokenize, wikitext_detokenize

# enwik8 and text8 are 100M bytes / characters; the standard split (Mahoney's, used by the GPT-2 paper and
# Transformer-XL) is 90M train, 5M valid, 5M test, in file order.
FULL_CORPUS_SIZE = 100_000_000
TEST_SPLIT_SIZE = 5_000_000
TEXT8_CHUNK_CHARS = 10_000  # text8 has no line breaks: `limit` counts chunks of this many characters
CBT_BLANK = "XXXXX"
Detokenizer = Callable[[str], str]


class EvalDataError(ValueError):
    """A release file that cannot be read as its task expects; the message names the file (and line)."""


class MissingDataFile(EvalDataError, FileNotFoundError):
    """The release file is not where the task looks for it."""


@dataclass(frozen=True, slots=True)
class ClozeExample:
    """LAMBADA: the passage up to its last word, and `` word`` to predict (leading space included)."""

    context: str
    target: str


@dataclass(frozen=True, slots=True)
class TextSpan:
    """A scored piece of text: ``text`` is what the model reads (de-tokenized), ``original`` the release's text,
    whose words, bytes or characters normalise the metrics."""

    original: str
    text: str


@dataclass(frozen=True, slots=True)
class ChoiceExample:
    """CBT: the story (de-tokenized sentences), the question with ``XXXXX``, the candidates and the answer."""

    context: str
    question: str
    candidates: tuple[str, ...]
    answer: str


def read_text(path: Path) -> str:
    """The file as UTF-8 text; an undecodable byte is reported with its line number."""
    raw = read_bytes(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise EvalDataError(f"{path}:{line}: not UTF-8 ({error.reason} at byte {error.start})") from error


def read_bytes(path: Path) -> bytes:
    """The whole file; a missing or empty file is an error naming it."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError as error:
        raise MissingDataFile(f"{path}: file not found (put the task's release file there)") from error
    except OSError as error:
        raise EvalDataError(f"{path}: cannot read: {error}") from error
    if not raw.strip():
        raise EvalDataError(f"{path}: file is empty")
    return raw


def check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be None (all examples) or a positive integer, got {limit!r}")


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a line-per-record file; the newline after the last line does not start a line."""
    text = read_text(path)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return enumerate(lines, start=1)


def load_lambada(path: Path, limit: int | None = None) -> list[ClozeExample]:
    """OpenAI's LAMBADA test set (``{"text": ...}`` per line): the target is the last space-separated word, as in
    lm-eval's ``lambada_openai`` (``text.split(' ')``, so a newline inside the passage stays in the context)."""
    check_limit(limit)
    examples = (_lambada_example(path, number, line) for number, line in numbered_lines(path))
    return list(islice(examples, limit))


def _lambada_example(path: Path, number: int, line: str) -> ClozeExample:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise EvalDataError(f"{path}:{number}: not a JSON object: {error.msg}") from error
    text = record.get("text") if isinstance(record, dict) else None
    if not isinstance(text, str):
        raise EvalDataError(f'{path}:{number}: expected an object with a string "text"')
    *words, last = text.split(" ")
    if not words or not last.strip():
        raise EvalDataError(f"{path}:{number}: passage needs a context and a last word, got {text[-60:]!r}")
    return ClozeExample(context=" ".join(words), target=" " + last)


def is_wikitext_title(line: str) -> bool:
    """lm-eval's test for an article's first line: `` = Title = `` with one ``=`` each side (section headings
    `` = = Section = = `` have two or more)."""
    squeezed = line.replace("= = =", "===").replace("= =", "==").strip()
    return squeezed.startswith("= ") and squeezed.endswith(" =")


def load_wikitext(
    path: Path, limit: int | None = None, detokenize: Detokenizer = wikitext_detokenize
) -> list[TextSpan]:
    """WikiText-2/103 test file as articles, split as lm-eval's ``wikitext_document_level`` split the raw release:
    an article runs from its title line to the line before the next title, lines joined by ``\\n``; lines before
    the first title (the release starts with a blank one) are dropped."""
    check_limit(limit)
    text = read_text(path)
    if not any(is_wikitext_title(line) for line in text.split("\n")):
        raise EvalDataError(f"{path}: no article title line ' = Title = ' found; is this a WikiText file?")
    pages = (TextSpan(original=page, text=detokenize(page)) for page in _wikitext_pages(text))
    return list(islice(pages, limit))


def _wikitext_pages(text: str) -> Iterator[str]:
    page: list[str] = []
    for line in text.split("\n"):
        if is_wikitext_title(line):
            if "\n".join(page).strip():
                yield "\n".join(page)
            page = []
        page.append(line)
    if "\n".join(page).strip():
        yield "\n".join(page)


def load_ptb(path: Path, limit: int | None = None, detokenize: Detokenizer = ptb_detokenize) -> list[TextSpan]:
    """PTB test file, one example per sentence (line). The task scores the sentences as one stream, as the
    GPT-2 paper scored the test set, so `limit` N reads the first N sentences of that stream."""
    check_limit(limit)
    spans = (_ptb_span(path, number, line, detokenize) for number, line in numbered_lines(path))
    return list(islice(spans, limit))


def _ptb_span(path: Path, number: int, line: str, detokenize: Detokenizer) -> TextSpan:
    if not line.strip():
        raise EvalDataError(f"{path}:{number}: blank line (the PTB release has one sentence per line)")
    return TextSpan(original=line, text=detokenize(line))


def take_test_split(data: bytes) -> bytes:
    """The last 5M of a full 100M enwik8/text8 file; any other file is taken to be the test split already."""
    return data[-TEST_SPLIT_SIZE:] if len(data) == FULL_CORPUS_SIZE else data


def load_enwik8(path: Path, limit: int | None = None) -> list[TextSpan]:
    """enwik8's test split as lines (newline kept, so the lines concatenate back to the split's exact bytes).

    ``original`` decodes with ``surrogateescape`` so it re-encodes to the file's bytes (the 5M cut may split a
    UTF-8 character); ``text``, what the model reads, has U+FFFD in place of such a partial character.
    """
    check_limit(limit)
    lines = take_test_split(read_bytes(path)).splitlines(keepends=True)
    spans = (
        TextSpan(original=line.decode("utf-8", "surrogateescape"), text=line.decode("utf-8", "replace"))
        for line in lines
    )
    return list(islice(spans, limit))


def load_text8(path: Path, limit: int | None = None) -> list[TextSpan]:
    """text8's test split (lower-case a-z and spaces, no line breaks) in chunks of ``TEXT8_CHUNK_CHARS``
    characters, which the task scores as one stream."""
    check_limit(limit)
    data = take_test_split(read_bytes(path))
    match = re.search(rb"[^a-z ]", data)
    if match:
        line = data.count(b"\n", 0, match.start()) + 1
        raise EvalDataError(f"{path}:{line}: byte {match.group()!r} at offset {match.start()} is not in text8's a-z")
    text = data.decode("ascii")
    chunks = (text[start : start + TEXT8_CHUNK_CHARS] for start in range(0, len(text), TEXT8_CHUNK_CHARS))
    return [TextSpan(original=chunk, text=chunk) for chunk in islice(chunks, limit)]


def load_cbt(path: Path, limit: int | None = None, detokenize: Detokenizer = cbt_detokenize) -> list[ChoiceExample]:
    """Children's Book Test (CN or NE): numbered story lines ``1``..``20``, then ``21 question<TAB>answer<TAB><TAB>
    cand1|...|cand10``, then a blank line."""
    check_limit(limit)
    return list(islice(_cbt_examples(path, detokenize), limit))


def _cbt_examples(path: Path, detokenize: Detokenizer) -> Iterator[ChoiceExample]:
    story: list[str] = []
    for number, line in numbered_lines(path):
        if not line.strip():
            if story:
                raise EvalDataError(f"{path}:{number}: blank line before the story's question line")
            continue
        index, _, rest = line.partition(" ")
        if not index.isdigit() or int(index) != len(story) + 1:
            raise EvalDataError(f"{path}:{number}: expected a line numbered {len(story) + 1}, got {line[:40]!r}")
        if "\t" not in rest and CBT_BLANK not in rest:
            story.append(rest.strip())
            continue
        yield _cbt_question(path, number, story, rest, detokenize)
        story = []
    if story:
        raise EvalDataError(f"{path}: ends inside a story (no question line after line {len(story)} of it)")


def _cbt_question(path: Path, number: int, story: list[str], rest: str, detokenize: Detokenizer) -> ChoiceExample:
    fields = [field.strip() for field in rest.split("\t") if field.strip()]
    if len(fields) != 3:
        raise EvalDataError(f"{path}:{number}: expected 'question<TAB>answer<TAB><TAB>candidates', got {rest[:60]!r}")
    question, answer, candidates_field = fields
    candidates = tuple(candidate.strip() for candidate in candidates_field.split("|"))
    if question.count(CBT_BLANK) != 1:
        raise EvalDataError(f"{path}:{number}: the question must contain {CBT_BLANK} exactly once")
    if len(candidates) < 2 or answer not in candidates:
        raise EvalDataError(f"{path}:{number}: answer {answer!r} is not among candidates {candidates}")
    if not story:
        raise EvalDataError(f"{path}:{number}: question without story lines")
    context = " ".join(detokenize(sentence) for sentence in story)
    return ChoiceExample(context=context, question=question, candidates=candidates, answer=answer)


def cbt_completions(example: ChoiceExample) -> list[str]:
    """The question with each candidate in place of XXXXX, de-tokenized, with the space that joins it to the story."""
    return [" " + cbt_detokenize(example.question.replace(CBT_BLANK, candidate)) for candidate in example.candidates]
