"""GPT-2's overlap analysis (Radford et al. 2019, §4 and Table 6): how much of an evaluation set the corpus holds.

Text is normalised to lower-case alphanumeric words separated by single spaces (``ngrams``),
every 8-gram of the corpus goes into a Bloom filter with a false-positive rate of at most 1e-8
(rbloom), and an evaluation set's overlap is the percentage of its distinct 8-grams the filter
holds. The filter is built once per corpus state and saved under the report folder with the
corpus's fingerprint, so reports for more evaluation sets, or later runs over the same corpus,
reuse it. The report is written as ``overlap.md`` (a table like the paper's) and ``overlap.json``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rbloom import Bloom

from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.ngrams import HASH_SCHEME, distinct, words_of
from pipeline.shards import atomic_write_bytes, atomic_write_json, complete_shards, fingerprint, read_json, read_table
from pipeline.stage import input_sha256

OVERLAP_N = 8
FALSE_POSITIVE_RATE = 1e-8
BLOOM_FILE, BLOOM_META, REPORT_JSON, REPORT_MD = (
    "corpus-8grams.bloom",
    "corpus-8grams.json",
    "overlap.json",
    "overlap.md",
)


REPORTS_DIR = "_reports"  # in decontaminate's output: before/ (its input's overlap) and after/ (its own)


def corpus_overlap_report(corpus_dir: Path) -> Path:
    """Where decontaminate leaves the 8-gram overlap table of its output, the corpus (``overlap.md``, like the
    GPT-2 paper's table); corpus versions record it, and evaluation links it to the runs it scores."""
    return corpus_dir / REPORTS_DIR / "after" / REPORT_MD


def bloom_key(value: int) -> int:
    """rbloom's hash of an n-gram hash: the uint64 moved into the signed range (stable across processes)."""
    return value - (1 << 63)


@dataclasses.dataclass(frozen=True, slots=True)
class Overlap:
    name: str
    ngrams: int  # distinct 8-grams of the evaluation set
    found: int  # of them, in the corpus (the Bloom filter)

    @property
    def percent(self) -> float:
        return 100.0 * self.found / self.ngrams if self.ngrams else 0.0


def corpus_fingerprint(corpus_dir: Path) -> str:
    shards = complete_shards(corpus_dir)
    return fingerprint(
        "overlap", HASH_SCHEME, OVERLAP_N, FALSE_POSITIVE_RATE, [(s.name, input_sha256(s)) for s in shards]
    )


def _spill_shard_ngrams(corpus_dir: Path, scratch: Path) -> list[tuple[Path, int]]:
    """Each shard's distinct 8-gram hashes in a scratch .npy file: one shard in memory at a time."""
    spills = []
    for position, shard in enumerate(complete_shards(corpus_dir)):
        texts = read_table(shard, columns=["text"])["text"].to_pylist()
        parts = [words_of(text).ngrams(OVERLAP_N) for text in texts]
        hashes = distinct(np.concatenate(parts)) if parts else np.empty(0, dtype=np.uint64)
        path = scratch / f"{position:05d}.npy"
        np.save(path, hashes)
        spills.append((path, len(hashes)))
    return spills


def corpus_bloom(corpus_dir: Path, report_dir: Path) -> Bloom:
    """The Bloom filter of every 8-gram of ``corpus_dir``'s documents: loaded if saved for this corpus, else built."""
    expected = corpus_fingerprint(corpus_dir)
    meta = read_json(report_dir / BLOOM_META) or {}
    if meta.get("fingerprint") == expected and (report_dir / BLOOM_FILE).is_file():
        return Bloom.load(report_dir / BLOOM_FILE, bloom_key)
    with tempfile.TemporaryDirectory(prefix="overlap-") as scratch:
        spills = _spill_shard_ngrams(corpus_dir, Path(scratch))
        bloom = Bloom(max(1, sum(count for _, count in spills)), FALSE_POSITIVE_RATE, bloom_key)
        for path, _ in spills:
            bloom.update(np.load(path).tolist())
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / BLOOM_META).unlink(missing_ok=True)  # the old meta must never describe the new filter
    atomic_write_bytes(report_dir / BLOOM_FILE, bloom.save_bytes())
    atomic_write_json(report_dir / BLOOM_META, {"fingerprint": expected, "n": OVERLAP_N, "items": bloom.approx_items})
    return bloom


def eval_overlap(bloom: Bloom, name: str, ngrams: np.ndarray) -> Overlap:
    """How many of an evaluation set's distinct 8-grams (``ngrams``) the corpus filter holds."""
    return Overlap(name, len(ngrams), sum(1 for value in ngrams.tolist() if value in bloom))


def overlap_table(overlaps: Sequence[Overlap]) -> str:
    """The report as a Markdown table: one row per evaluation set, the percentage with a % sign."""
    rows = ["| Evaluation set | 8-grams | In the corpus |", "| --- | ---: | ---: |"]
    rows += [f"| {item.name} | {item.ngrams:,} | {item.percent:.2f}% |" for item in overlaps]
    return "\n".join(rows) + "\n"


def eval_8grams(eval_sets: Sequence[EvalSet]) -> dict[str, np.ndarray]:
    """Each evaluation set's distinct 8-grams, by name; a bad or empty file fails here, before any corpus work."""
    if not eval_sets:
        raise ValueError("the overlap report needs at least one --eval-set NAME=PATH")
    names = [eval_set.name for eval_set in eval_sets]
    if len(set(names)) != len(names):
        raise ValueError(f"eval set names must differ, got {names}")
    return {eval_set.name: eval_set.ngrams(OVERLAP_N) for eval_set in eval_sets}


def overlap_report(
    corpus_dir: Path, eval_sets: Sequence[EvalSet] | dict[str, np.ndarray], report_dir: Path | None = None
) -> dict[str, Any]:
    """Measure each evaluation set (or its ``eval_8grams``) against ``corpus_dir``; write ``overlap.md`` and
    ``overlap.json``."""
    ngrams = eval_sets if isinstance(eval_sets, dict) else eval_8grams(eval_sets)
    report_dir = report_dir or corpus_dir / "_reports"
    bloom = corpus_bloom(corpus_dir, report_dir)
    overlaps = [eval_overlap(bloom, name, hashes) for name, hashes in ngrams.items()]
    report = {
        "corpus": str(corpus_dir),
        "corpus_fingerprint": corpus_fingerprint(corpus_dir),
        "n": OVERLAP_N,
        "false_positive_rate": FALSE_POSITIVE_RATE,
        "eval_sets": [{**dataclasses.asdict(item), "percent": round(item.percent, 4)} for item in overlaps],
        "table": overlap_table(overlaps),
    }
    atomic_write_json(report_dir / REPORT_JSON, report)
    atomic_write_bytes(report_dir / REPORT_MD, report["table"].encode("utf-8"))
    return report
