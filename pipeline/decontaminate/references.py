"""The references documents are matched against, and how common each matched n-gram is in the corpus.

A reference is a sorted array of n-gram hashes: one per evaluation set, and one for Wikipedia's
text when dumps are given. Wikipedia's n-grams are first streamed into chunked Parquet under
``OUT/_reference/wikipedia-<fingerprint>/`` (keyed by the dumps' names, sizes and modification
times, and ``n``; distinct within each chunk, so no process holds the whole set), from which
either this process loads the array or the Spark join (``spark_join``) reads them. A multistream dump
with its index is parsed by several processes (``multistream``), to the same chunks. An n-gram
that occurs in more corpus documents than the reference's cut-off is a stock phrase, not
contamination, and is ignored; the counts are kept per docs shard under ``OUT/_counts/``, so a
later run adds only its new shards' counts to those of the corpus it already has.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.decontaminate.config import DecontaminateConfig
from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.hits import Hits
from pipeline.decontaminate.multistream import dump_ngrams
from pipeline.decontaminate.ngrams import HASH_SCHEME, distinct
from pipeline.shards import atomic_write_json, fingerprint, read_json, read_table, shard_name, write_shard

WIKIPEDIA = "wikipedia"
REFERENCE_DIR, COUNTS_DIR = "_reference", "_counts"
COUNTS_SCHEMA = pa.schema([("reference", pa.string()), ("hash", pa.uint64()), ("documents", pa.int64())])
REFERENCE_SCHEMA = pa.schema([("hash", pa.int64())])  # the uint64 hash bit-cast to int64 (Spark has no uint64)
CHUNK_NGRAMS = 5_000_000  # n-grams gathered before they are deduplicated and written: bounds memory per dump
COMPLETE = "complete.json"
EMPTY = np.empty(0, dtype=np.uint64)


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    name: str
    ngrams: np.ndarray | None  # sorted distinct uint64 hashes; None: matched per document by the Spark join
    max_documents: int  # an n-gram in more corpus documents than this is ignored
    identity: str = ""  # what names the n-grams when they are not hashed themselves (Wikipedia: its dumps)

    def digest(self) -> str:
        if self.identity:
            return self.identity
        assert self.ngrams is not None, f"{self.name}: a reference without n-grams needs an identity"
        return hashlib.sha256(self.ngrams.tobytes()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True, slots=True)
class WikipediaNgrams:
    """Wikipedia's n-gram hashes as chunked Parquet (REFERENCE_SCHEMA), distinct within each chunk only."""

    identity: str  # fingerprint of the dumps (names, sizes, times) and n
    chunks: tuple[Path, ...]
    ngrams: int  # rows over all chunks: the distinct n-grams, plus those repeated across chunks

    def load(self) -> np.ndarray:
        """The sorted distinct hashes, in memory (the local join)."""
        arrays = [read_table(chunk)["hash"].to_numpy().view(np.uint64) for chunk in self.chunks]
        return distinct(np.concatenate([EMPTY, *arrays]))


def references_fingerprint(references: Sequence[Reference]) -> str:
    return fingerprint([(ref.name, ref.digest(), ref.max_documents) for ref in references])


def _write_chunk(directory: Path, index: int, arrays: list[np.ndarray], identity: str) -> tuple[Path, int]:
    hashes = distinct(np.concatenate([EMPTY, *arrays]))
    chunk = directory / shard_name(index)
    write_shard(pa.table({"hash": hashes.view(np.int64)}, schema=REFERENCE_SCHEMA), chunk, shard_fingerprint=identity)
    return chunk, len(hashes)


def wikipedia_ngrams(dumps: Sequence[Path], n: int, cache_dir: Path, workers: int = 1) -> WikipediaNgrams:
    """The n-gram hashes of every article in ``dumps`` as Parquet chunks; reused while the dumps and ``n`` are.
    A multistream dump with its index is parsed by ``workers`` processes; the chunks are the same bytes either
    way, since the articles' n-grams arrive in dump order. Nothing marks the build complete until every chunk is
    written: an error (a corrupt dump, a dead worker) leaves a build the next run deletes and redoes."""
    identity = fingerprint(
        [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in dumps], n, HASH_SCHEME
    )
    directory = cache_dir / f"wikipedia-{identity}"
    if (marker := read_json(directory / COMPLETE)) is not None:
        return WikipediaNgrams(identity, tuple(directory / name for name in marker["chunks"]), marker["ngrams"])
    cache_dir.mkdir(parents=True, exist_ok=True)
    for stale in cache_dir.glob("wikipedia-*"):  # other dumps' chunks, a half-written build, the old .npy cache
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    chunks: list[Path] = []
    total, pending, arrays = 0, 0, []
    for dump in dumps:
        for ngrams in dump_ngrams(dump, n, workers):
            arrays.append(ngrams)
            pending += len(arrays[-1])
            if pending >= CHUNK_NGRAMS:
                chunk, rows = _write_chunk(directory, len(chunks), arrays, identity)
                chunks, total, pending, arrays = [*chunks, chunk], total + rows, 0, []
    if arrays or not chunks:  # always one chunk at least: Spark reads an empty one, not none
        chunk, rows = _write_chunk(directory, len(chunks), arrays, identity)
        chunks, total = [*chunks, chunk], total + rows
    atomic_write_json(
        directory / COMPLETE, {"identity": identity, "n": n, "chunks": [c.name for c in chunks], "ngrams": total}
    )
    return WikipediaNgrams(identity, tuple(chunks), total)


def joins_in_spark(cfg: DecontaminateConfig, wikipedia: WikipediaNgrams) -> bool:
    """Whether Wikipedia's n-grams are matched by the Spark join rather than in this process."""
    return cfg.join == "spark" or (cfg.join == "auto" and wikipedia.ngrams > cfg.spark_min_reference_ngrams)


def eval_references(eval_sets: Sequence[EvalSet], cfg: DecontaminateConfig) -> list[Reference]:
    """One reference per evaluation set (read before anything is written: a bad file fails early)."""
    names = [eval_set.name for eval_set in eval_sets]
    if len(set(names)) != len(names) or WIKIPEDIA in names:
        raise ValueError(f"eval set names must differ from each other and from {WIKIPEDIA!r}, got {names}")
    return [Reference(item.name, item.ngrams(cfg.n), cfg.max_ngram_documents) for item in eval_sets]


def wikipedia_reference(wikipedia: WikipediaNgrams, cfg: DecontaminateConfig, joined: bool) -> Reference:
    """Wikipedia's text as one reference: in memory, or (``joined``) matched by the Spark join."""
    ngrams = None if joined else wikipedia.load()
    return Reference(WIKIPEDIA, ngrams, cfg.wikipedia_max_ngram_documents, wikipedia.identity)


def joined_matches(matches_file: Path) -> dict[int, np.ndarray]:
    """The Spark join's matches of one docs shard: document position -> its sorted matched hashes (uint64)."""
    table = read_table(matches_file)
    if not table.num_rows:
        return {}
    positions = table["position"].to_numpy()
    hashes = table["hash"].to_numpy().view(np.uint64)
    order = np.lexsort((hashes, positions))  # the file is sorted by signed hash; the search needs unsigned order
    positions, hashes = positions[order], hashes[order]
    firsts, starts = np.unique(positions, return_index=True)
    return {int(p): part for p, part in zip(firsts.tolist(), np.split(hashes, starts[1:]), strict=True)}


def shard_counts(hits: Mapping[str, Hits]) -> tuple[pa.Table, list[int]]:
    """For every reference n-gram found in a shard's documents (``hits``: per reference, from ``HitFinder``), in
    how many of them (a table of COUNTS_SCHEMA); and the positions of the documents holding any (only those need
    cutting)."""
    columns: dict[str, list] = {"reference": [], "hash": [], "documents": []}
    for name, found in hits.items():
        values, documents = np.unique(found.hashes, return_counts=True)  # (document, hash) pairs are distinct
        columns["reference"] += [name] * len(values)
        columns["hash"] += values.tolist()
        columns["documents"] += documents.tolist()
    matched_positions = sorted({position for found in hits.values() for position in found.documents()})
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
