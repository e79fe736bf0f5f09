"""Evaluation sets named on the command line: ``NAME=PATH`` or ``NAME=FORMAT:PATH``.

A NAME the benchmark registry knows (``lambada``, ``wikitext2``, ``ptb``, ``sample_lambada``, …) is read
as evaluation reads it (``pipeline/benchmarks``): its strict reader and de-tokenizer, one text per scored
unit (a passage, an article, PTB's whole stream), so the n-grams cut are those of the examples the model
is scored on. Any other set (a user's own) takes its format from the file: ``.jsonl`` is one JSON object
per line whose ``text`` field is one example; anything else is plain text, read as one text. ``jsonl:``
or ``text:`` before the path forces that format, whatever the name. A missing, unreadable or empty file,
a line that is not JSON, or a record without ``text`` is an error naming the file.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pipeline.benchmarks.files import EvalDataError
from pipeline.benchmarks.registry import BENCHMARKS
from pipeline.decontaminate.ngrams import distinct, ngrams_within, texts_words

FORMATS = ("jsonl", "text")
BENCHMARK = "benchmark"  # the format of a registered benchmark: read by the registry's reader
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
FORMAT_PREFIX = re.compile(r"^[a-z]{2,10}$")  # looks like a format name (a Windows drive letter does not)


@dataclasses.dataclass(frozen=True, slots=True)
class EvalSet:
    name: str
    path: Path
    format: str

    @classmethod
    def parse(cls, spec: str) -> EvalSet:
        """``NAME=PATH`` or ``NAME=FORMAT:PATH``; a registered benchmark's NAME without a FORMAT is read as
        evaluation reads it."""
        name, separator, rest = spec.partition("=")
        if not separator or not NAME.match(name) or not rest:
            raise ValueError(f"eval set {spec!r} is not NAME=PATH or NAME=FORMAT:PATH (NAME: letters, digits, _.-)")
        prefix, colon, path = rest.partition(":")
        if colon and prefix in FORMATS:
            return cls(name, Path(path), prefix)
        if colon and FORMAT_PREFIX.match(prefix) and not Path(rest).exists():
            raise ValueError(f"eval set {name}: unknown format {prefix!r} in {spec!r}; the formats are {FORMATS}")
        path = Path(rest)
        if name in BENCHMARKS:
            return cls(name, path, BENCHMARK)
        return cls(name, path, "jsonl" if path.suffix == ".jsonl" else "text")

    @classmethod
    def of_benchmark(cls, name: str, path: Path) -> EvalSet:
        """The registered benchmark ``name``'s release file at ``path``, read as evaluation reads it."""
        if name not in BENCHMARKS:
            raise ValueError(f"{name!r} is not a registered benchmark; known: {', '.join(BENCHMARKS)}")
        return cls(name, Path(path), BENCHMARK)

    def _stat(self) -> os.stat_result:
        if not self.path.is_file():
            raise FileNotFoundError(f"eval set {self.name}: {self.path} not found")
        return self.path.stat()

    def texts(self) -> Iterator[str]:
        """The set's examples (jsonl), its one text (plain), or what the model reads of a benchmark."""
        self._stat()
        try:
            if self.format == BENCHMARK:
                yield from BENCHMARKS[self.name].texts(self.path)
                return
            if self.format == "text":
                yield self.path.read_text(encoding="utf-8")
                return
            with open(self.path, encoding="utf-8") as lines:
                for number, line in enumerate(lines, start=1):
                    if line.strip():
                        yield _record_text(self, number, line)
        except UnicodeDecodeError as error:
            raise ValueError(f"eval set {self.name}: {self.path} is not UTF-8 text ({error.reason})") from error
        except EvalDataError as error:  # the benchmark reader's message names the file and line
            raise ValueError(f"eval set {self.name}: {error}") from error

    def ngrams(self, n: int) -> np.ndarray:
        """The distinct n-gram hashes of the set, sorted; an error if it has none (empty or too short)."""
        state = self._stat()
        hashes = distinct(ngrams_within(*_examples_words(self, state.st_size, state.st_mtime_ns), n))
        if not len(hashes):
            raise ValueError(f"eval set {self.name}: {self.path} has no {n}-gram of words (empty or too short)")
        return hashes


@functools.lru_cache(maxsize=16)
def _examples_words(eval_set: EvalSet, size: int, mtime_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """The examples' word hashes and where each example's words end (``texts_words``), read and hashed once per
    state of the file: the 13-grams the stage cuts and the 8-grams of the overlap report come from the same reading,
    and all examples in a few NumPy calls."""
    return texts_words(list(eval_set.texts()))


def _record_text(eval_set: EvalSet, number: int, line: str) -> str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"eval set {eval_set.name}: {eval_set.path} line {number} is not JSON ({error.msg})") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError(f"eval set {eval_set.name}: {eval_set.path} line {number} has no 'text' string")
    return record["text"]
