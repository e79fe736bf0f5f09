"""GPT-2's overlap analysis (Radford et al. 2019, §4 and Table 6): how much of an evaluation set the corpus holds.

Text is normalised to lower-case alphanumeric words separated by single spaces (``ngrams``), and an
evaluation set's overlap is the percentage of its distinct 8-grams found in the corpus. GPT-2 put
every 8-gram of the corpus in a Bloom filter; here only the evaluation sets' distinct 8-grams are held
whole (their union, sorted: a few MB), and each corpus shard's 8-gram hashes are searched in it
(``hits``). What a shard holds of them, per document, is kept under ``<report>/shards/<shard>.npz``,
keyed by the shard's content hash, the hash scheme and the evaluation 8-grams, so a report over a grown
corpus computes only its new or changed shards, and the files of shards that are gone are removed.
The result is exact (no false positives, up to 64-bit hash collisions), memory is the evaluation sets'
plus one batch of a shard whatever the corpus's size, and time is linear in the shards computed.

The decontaminate stage fills the caches while it reads the text anyway (``OverlapTracker``), so its
reports of its input and output hash no document a second time. The report is written as
``overlap.md`` (a table like the paper's) and ``overlap.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.code_identity import code_fingerprint
from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.hits import EMPTY_HASHES, HashSets, HitFinder, Hits
from pipeline.decontaminate.ngrams import HASH_SCHEME, distinct, joined_ngrams, joined_words, text_batches
from pipeline.shards import (
    atomic_write_bytes,
    atomic_write_json,
    commit,
    complete_shards,
    file_sha256,
    fingerprint,
    read_table,
    remove_stale_temporaries,
    temporary_path,
)
from pipeline.stage import input_sha256

OVERLAP_N = 8
REPORT_JSON, REPORT_MD = "overlap.json", "overlap.md"
HITS_DIR = "shards"  # in a report folder: per corpus shard, the evaluation 8-grams its documents hold
BLOOM_LEFTOVERS = ("corpus-8grams.bloom", "corpus-8grams.json")  # earlier versions' Bloom filter: removed
REPORTS_DIR = "_reports"  # in decontaminate's output: before/ (its input's overlap) and after/ (its own)
CODE = "pipeline.decontaminate"  # the code hits depend on: its fingerprint is the stage's, computed once a process
UNION = "eval"  # the HitFinder's one reference: the union of the evaluation sets' 8-grams


def corpus_overlap_report(corpus_dir: Path) -> Path:
    """Where decontaminate leaves the 8-gram overlap table of its output, the corpus (``overlap.md``, like the
    GPT-2 paper's table); corpus versions record it, and evaluation links it to the runs it scores."""
    return corpus_dir / REPORTS_DIR / "after" / REPORT_MD


@dataclasses.dataclass(frozen=True, slots=True)
class Overlap:
    name: str
    ngrams: int  # distinct 8-grams of the evaluation set
    found: int  # of them, in the corpus

    @property
    def percent(self) -> float:
        return 100.0 * self.found / self.ngrams if self.ngrams else 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class EvalNgrams:
    """The evaluation sets' distinct 8-grams by name, and their union: what every corpus shard is searched for."""

    sets: dict[str, np.ndarray]  # sorted distinct uint64 hashes
    union: np.ndarray
    key: str  # names the union, the hash scheme and the code that finds hits: part of every cached shard's key
    lookup: HashSets  # the union, as HitFinder searches it

    @classmethod
    def of(cls, sets: dict[str, np.ndarray]) -> EvalNgrams:
        union = distinct(np.concatenate([EMPTY_HASHES, *sets.values()]))
        digest = hashlib.sha256(union.tobytes()).hexdigest()
        key = fingerprint("overlap", HASH_SCHEME, OVERLAP_N, digest, code_fingerprint(CODE))
        return cls(sets, union, key, HashSets.of({UNION: union}))

    def shard_key(self, shard: Path) -> str:
        """The key of ``shard``'s cached hits: its content (as its stats file recorded it) and the union."""
        return fingerprint(self.key, input_sha256(shard) or file_sha256(shard))


def eval_8grams(eval_sets: Sequence[EvalSet]) -> EvalNgrams:
    """Each evaluation set's distinct 8-grams, by name; a bad or empty file fails here, before any corpus work."""
    if not eval_sets:
        raise ValueError("the overlap report needs at least one --eval-set NAME=PATH")
    names = [eval_set.name for eval_set in eval_sets]
    if len(set(names)) != len(names):
        raise ValueError(f"eval set names must differ, got {names}")
    return EvalNgrams.of({eval_set.name: eval_set.ngrams(OVERLAP_N) for eval_set in eval_sets})


def hits_file(report_dir: Path, shard_name: str) -> Path:
    return report_dir / HITS_DIR / (shard_name.removesuffix(".parquet") + ".npz")


def save_hits(path: Path, key: str, hits: Hits) -> None:
    """Write one shard's hits with their key, atomically (a killed write leaves only a temporary)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    with open(temporary, "wb") as handle:
        np.savez(handle, key=np.array(key), positions=hits.positions, hashes=hits.hashes)
    commit(temporary, path)


def load_hits(path: Path, key: str) -> Hits | None:
    """A shard's cached hits when saved under ``key``; None when missing, stale or unreadable (then recomputed)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["key"]) != key:
                return None
            return Hits(saved["positions"], saved["hashes"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):  # missing, or damaged by hand: computed again
        return None


def text_hits(texts: Sequence[str], lookup: HashSets, positions: np.ndarray | None = None) -> Hits:
    """The evaluation 8-grams each of ``texts`` holds (positions: indexes into ``texts``, or ``positions``' entries),
    hashed a batch of texts at a time."""
    positions = np.arange(len(texts)) if positions is None else positions
    finder = HitFinder(lookup)
    for start, stop in text_batches(texts):
        hashes, ends = joined_words(texts[start:stop])
        finder.add_joined(positions[start:stop], ends, joined_ngrams(hashes, (OVERLAP_N,))[OVERLAP_N], OVERLAP_N)
    return finder.finish()[UNION]


def shard_hits(shard: Path, ngrams: EvalNgrams, report_dir: Path) -> tuple[Hits, bool]:
    """``shard``'s hits, from the cache when they are there; and whether they had to be computed."""
    path, key = hits_file(report_dir, shard.name), ngrams.shard_key(shard)
    if (cached := load_hits(path, key)) is not None:
        return cached, False
    hits = text_hits(read_table(shard, columns=["text"])["text"].to_pylist(), ngrams.lookup)
    save_hits(path, key, hits)
    return hits, True


def remove_stale_hits(report_dir: Path, shard_names: set[str]) -> None:
    """Cached hits of shards no longer in the corpus, temporaries of a killed run, and a Bloom-era filter."""
    directory = report_dir / HITS_DIR
    if directory.is_dir():
        remove_stale_temporaries(directory)
        wanted = {hits_file(report_dir, name).name for name in shard_names}
        for path in directory.glob("*.npz"):
            if path.name not in wanted:
                path.unlink(missing_ok=True)
    for leftover in BLOOM_LEFTOVERS:
        (report_dir / leftover).unlink(missing_ok=True)


def output_hits(
    before: Hits | None, originals: Sequence[str], kept: Sequence[tuple[int, str]], lookup: HashSets
) -> Hits:
    """The hits of an output shard whose documents ``kept`` are (input position, text kept), in order: a document
    kept as it was takes its input's hits from ``before``; only a cut or masked one (every one without ``before``)
    is hashed again."""
    output_of = np.full(len(originals), -1, dtype=np.int64)  # input position -> output position, if unchanged
    changed, texts = [], []  # the output positions and texts hashed again
    for position, (source, text) in enumerate(kept):
        if before is not None and text == originals[source]:
            output_of[source] = position
        else:
            changed.append(position)
            texts.append(text)
    hashed = text_hits(texts, lookup, np.array(changed, dtype=np.int64))
    if before is None:
        return hashed
    reused = output_of[before.positions] >= 0
    return Hits.of(
        np.concatenate([hashed.positions, output_of[before.positions[reused]]]),
        np.concatenate([hashed.hashes, before.hashes[reused]]),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class OverlapTracker:
    """The decontaminate stage's reports of its input (``before_dir``) and output (``after_dir``), fed as it goes:
    an input shard's hits come from the words its counting pass hashes anyway, an output shard's from its input
    shard's, so that the reports hash no document twice. Whatever is not fed is computed by ``overlap_report``."""

    ngrams: EvalNgrams
    before_dir: Path
    after_dir: Path

    def input_finder(self) -> HitFinder:
        """Give it each input document's 8-gram hashes, then ``save_input`` it."""
        return HitFinder(self.ngrams.lookup)

    def save_input(self, docs_shard: Path, finder: HitFinder) -> None:
        hits = finder.finish()[UNION]
        save_hits(hits_file(self.before_dir, docs_shard.name), self.ngrams.shard_key(docs_shard), hits)

    def save_output(
        self, docs_shard: Path, originals: Sequence[str], kept: Sequence[tuple[int, str]], output: Path
    ) -> None:
        """The hits of ``output`` (just written from ``docs_shard``; ``kept`` as in ``output_hits``)."""
        before = load_hits(hits_file(self.before_dir, docs_shard.name), self.ngrams.shard_key(docs_shard))
        hits = output_hits(before, originals, kept, self.ngrams.lookup)
        save_hits(hits_file(self.after_dir, output.name), self.ngrams.shard_key(output), hits)


def corpus_fingerprint(shards: Sequence[Path]) -> str:
    return fingerprint("overlap", HASH_SCHEME, OVERLAP_N, [(shard.name, input_sha256(shard)) for shard in shards])


def overlap_table(overlaps: Sequence[Overlap]) -> str:
    """The report as a Markdown table: one row per evaluation set, the percentage with a % sign."""
    rows = ["| Evaluation set | 8-grams | In the corpus |", "| --- | ---: | ---: |"]
    rows += [f"| {item.name} | {item.ngrams:,} | {item.percent:.2f}% |" for item in overlaps]
    return "\n".join(rows) + "\n"


def overlap_report(
    corpus_dir: Path, eval_sets: Sequence[EvalSet] | EvalNgrams, report_dir: Path | None = None
) -> dict[str, Any]:
    """Measure each evaluation set (or the sets' ``eval_8grams``) against ``corpus_dir``; write ``overlap.md`` and
    ``overlap.json``. Only shards without cached hits are read; the returned report says how many
    (``shards_computed``, left out of ``overlap.json`` so that a rerun writes the same bytes)."""
    ngrams = eval_sets if isinstance(eval_sets, EvalNgrams) else eval_8grams(eval_sets)
    report_dir = report_dir or corpus_dir / REPORTS_DIR
    shards = complete_shards(corpus_dir)
    remove_stale_hits(report_dir, {shard.name for shard in shards})
    found = np.zeros(len(ngrams.union), dtype=bool)  # union 8-grams found in some shard
    computed = 0
    for shard in shards:
        hits, was_computed = shard_hits(shard, ngrams, report_dir)
        found[np.searchsorted(ngrams.union, hits.hashes)] = True
        computed += was_computed
    overlaps = [
        Overlap(name, len(hashes), int(found[np.searchsorted(ngrams.union, hashes)].sum()))
        for name, hashes in ngrams.sets.items()
    ]
    report = {
        "corpus": str(corpus_dir),
        "corpus_fingerprint": corpus_fingerprint(shards),
        "n": OVERLAP_N,
        "exact": True,
        "shards": len(shards),
        "eval_sets": [{**dataclasses.asdict(item), "percent": round(item.percent, 4)} for item in overlaps],
        "table": overlap_table(overlaps),
    }
    atomic_write_json(report_dir / REPORT_JSON, report)
    atomic_write_bytes(report_dir / REPORT_MD, report["table"].encode("utf-8"))
    return report | {"shards_computed": computed}
