"""The references documents are matched against, and how common each matched n-gram is in the corpus.

A reference is a sorted array of n-gram hashes: one per evaluation set, and one for Wikipedia's
text when dumps are given (built in this process, then cached under ``OUT/_reference/`` keyed
by the dumps' names, sizes and modification times). An n-gram that occurs in more corpus
documents than the reference's cut-off is a stock phrase, not contamination, and is ignored;
the counts are kept per docs shard under ``OUT/_counts/``, so a later run adds only its new
shards' counts to those of the corpus it already has.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.decontaminate.config import DecontaminateConfig
from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.ngrams import ngram_hashes, words_of
from pipeline.decontaminate.wikipedia import article_texts
from pipeline.shards import atomic_write_bytes, fingerprint, read_table

WIKIPEDIA = "wikipedia"
REFERENCE_DIR, COUNTS_DIR = "_reference", "_counts"
COUNTS_SCHEMA = pa.schema([("reference", pa.string()), ("hash", pa.uint64()), ("documents", pa.int64())])
UNIQUE_EVERY = 5_000_000  # n-grams gathered before they are deduplicated: bounds memory while reading a dump


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    name: str
    ngrams: np.ndarray  # sorted distinct uint64 hashes
    max_documents: int  # an n-gram in more corpus documents than this is ignored

    def digest(self) -> str:
        return hashlib.sha256(self.ngrams.tobytes()).hexdigest()[:16]


def contains(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values[i] in sorted_values`` for every i, by binary search."""
    if not len(sorted_values):
        return np.zeros(len(values), dtype=bool)
    positions = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[positions] == values


def references_fingerprint(references: Sequence[Reference]) -> str:
    return fingerprint([(ref.name, ref.digest(), ref.max_documents) for ref in references])


def _unique_stream(arrays: list[np.ndarray], pending: int) -> tuple[list[np.ndarray], int]:
    if pending < UNIQUE_EVERY:
        return arrays, pending
    merged = np.unique(np.concatenate(arrays))
    return [merged], len(merged)


def wikipedia_ngrams(dumps: Sequence[Path], n: int, cache_dir: Path) -> np.ndarray:
    """The distinct n-gram hashes of every article in ``dumps``; cached per dump identity and ``n``."""
    identity = [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in dumps]
    cached = cache_dir / f"wikipedia-{fingerprint(identity, n)}.npy"
    if cached.is_file():
        return np.load(cached)
    arrays: list[np.ndarray] = [np.empty(0, dtype=np.uint64)]
    pending = 0
    for dump in dumps:
        for text in article_texts(dump):
            hashes = ngram_hashes(words_of(text).words, n)
            arrays.append(hashes)
            arrays, pending = _unique_stream(arrays, pending + len(hashes))
    ngrams = np.unique(np.concatenate(arrays))
    cache_dir.mkdir(parents=True, exist_ok=True)
    for stale in cache_dir.glob("wikipedia-*.npy"):
        stale.unlink()
    buffer = io.BytesIO()
    np.save(buffer, ngrams)
    atomic_write_bytes(cached, buffer.getvalue())
    return ngrams


def eval_references(eval_sets: Sequence[EvalSet], cfg: DecontaminateConfig) -> list[Reference]:
    """One reference per evaluation set (read before anything is written: a bad file fails early)."""
    names = [eval_set.name for eval_set in eval_sets]
    if len(set(names)) != len(names) or WIKIPEDIA in names:
        raise ValueError(f"eval set names must differ from each other and from {WIKIPEDIA!r}, got {names}")
    return [Reference(item.name, item.ngrams(cfg.n), cfg.max_ngram_documents) for item in eval_sets]


def wikipedia_reference(dumps: Sequence[Path], cfg: DecontaminateConfig, out_dir: Path) -> list[Reference]:
    """Wikipedia's text as one reference (none without dumps)."""
    if not dumps:
        return []
    ngrams = wikipedia_ngrams(dumps, cfg.n, out_dir / REFERENCE_DIR)
    return [Reference(WIKIPEDIA, ngrams, cfg.wikipedia_max_ngram_documents)]


def shard_counts(texts: list[str], references: Sequence[Reference], n: int) -> tuple[pa.Table, list[int]]:
    """For every reference n-gram found in these documents, in how many of them (a table of COUNTS_SCHEMA); and
    the positions of the documents holding any (only those need cutting)."""
    found: dict[str, list[np.ndarray]] = {ref.name: [] for ref in references}
    matched_positions = []
    for position, text in enumerate(texts):
        hashes = np.unique(ngram_hashes(words_of(text).words, n))
        for ref in references:
            matched = hashes[contains(ref.ngrams, hashes)]
            if len(matched):
                found[ref.name].append(matched)
                if not matched_positions or matched_positions[-1] != position:
                    matched_positions.append(position)
    columns: dict[str, list] = {"reference": [], "hash": [], "documents": []}
    for name, arrays in found.items():
        values, documents = np.unique(np.concatenate(arrays or [np.empty(0, np.uint64)]), return_counts=True)
        columns["reference"] += [name] * len(values)
        columns["hash"] += values.tolist()
        columns["documents"] += documents.tolist()
    return pa.table(columns, schema=COUNTS_SCHEMA), matched_positions


def frequent_ngrams(count_shards: Sequence[Path], references: Sequence[Reference]) -> dict[str, np.ndarray]:
    """Per reference, the sorted n-gram hashes found in more corpus documents than its cut-off."""
    tables = [read_table(shard) for shard in count_shards]
    counts = pa.concat_tables(tables) if tables else COUNTS_SCHEMA.empty_table()
    totals = counts.group_by(["reference", "hash"]).aggregate([("documents", "sum")])
    frequent = {}
    for ref in references:
        rows = totals.filter(pc.equal(totals["reference"], ref.name))
        common = rows.filter(pc.greater(rows["documents_sum"], ref.max_documents))
        frequent[ref.name] = np.sort(common["hash"].to_numpy(zero_copy_only=False).astype(np.uint64))
    return frequent
