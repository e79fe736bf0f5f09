"""The decontaminate stage: filtered documents in, the same without Wikipedia and without evaluation text out.

Layout under the output directory::

    part-....parquet                  Documents, named after their docs shards; a trimmed document keeps
                                      the rest of its text, and ``overlap_score`` is the share of it cut;
                                      email addresses, phone numbers and IP addresses masked (``pii``)
    rejected/decontaminate/<reason>/  wikipedia_domain and contaminated Documents; removed_span rows
                                      (RemovedSpan: the characters cut and the references that matched)
    _counts/part-....parquet          per docs shard, how many documents hold each matched n-gram
    _counts/wikipedia/part-....parquet  with the Spark join: per docs shard, its documents' Wikipedia matches
    _reference/                       Wikipedia's n-gram hashes as Parquet chunks, cached per dump
    _reports/before, _reports/after   GPT-2's 8-gram overlap report of the input and of the output
    summary.json                      counts for the whole run, per reference, and both overlap tables

Two passes, each resumable per docs shard: count (how many documents hold each matched n-gram, for
the boilerplate cut-off), then cut. A shard is redone when its docs shard, a reference, a setting or
the stage's code (``pipeline/decontaminate``) changed; Wikipedia's n-gram cache (``_reference``) is
kept across code edits, as reading a dump again is costly. Wikipedia's n-grams are matched in this
process or, for large dumps, by a Spark join (``spark_join``, ``join``); either gives the same
bytes. Incremental runs: the cut-off counts the whole corpus, the new shards included, but shards
already written are not decided again, so a phrase that becomes common only with new documents still
stays cut from the earlier ones.

The text a document keeps has its personal data masked (``pii``; unless ``mask_pii`` is off) after its
n-grams were matched, so overlaps are found in the original text; rejects keep the original.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from pipeline.code_identity import code_fingerprint
from pipeline.decontaminate.config import DecontaminateConfig
from pipeline.decontaminate.documents import document_at, document_columns, kept_documents, removed_spans
from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.hits import HashSets, HitFinder, contains
from pipeline.decontaminate.ngrams import joined_ngrams, joined_words, text_batches, words_of
from pipeline.decontaminate.overlap import OVERLAP_N, REPORTS_DIR, OverlapTracker, eval_8grams, overlap_report
from pipeline.decontaminate.pii import SUMMARY_COUNTS, mask_pii
from pipeline.decontaminate.references import (
    COUNTS_DIR,
    EMPTY,
    REFERENCE_DIR,
    WIKIPEDIA,
    Reference,
    WikipediaNgrams,
    eval_references,
    frequent_ngrams,
    joined_matches,
    joins_in_spark,
    references_fingerprint,
    shard_counts,
    wikipedia_ngrams,
    wikipedia_reference,
)
from pipeline.decontaminate.spans import CutRules, cut, matched_spans
from pipeline.decontaminate.wikipedia import is_wikipedia_page
from pipeline.lock import folder_lock
from pipeline.progress import ProgressFactory, no_progress
from pipeline.records import Document, RemovedSpan
from pipeline.rejects import RejectWriter, remove_leftovers
from pipeline.settings import resolve_workers
from pipeline.shards import ShardOutcome, docs_shards, fingerprint, read_table, remove_orphan_shards, write_shard
from pipeline.stage import (
    StageSummary,
    Stopwatch,
    WorkUnit,
    input_sha256,
    plan_units,
    run_units,
    workers_for_shards,
)

if TYPE_CHECKING:
    from pipeline.decontaminate.spark_join import SharedSession, SparkSession

log = logging.getLogger(__name__)

STAGE = "decontaminate"
PACKAGE = "pipeline.decontaminate"  # the code the outputs depend on (see ``code_fingerprint``)
REMOVED_SPAN = "removed_span"
DOCUMENTS_PER_WORKER = 20_000  # a spawned worker's start repays itself past this many (bench/decontaminate.py)


@dataclasses.dataclass(slots=True)
class ShardResult(ShardOutcome):
    """Counts for one output shard (also its stats file's extra fields)."""

    name: str
    documents: int
    kept: int
    trimmed: int
    chars_removed: int
    outcomes: dict[str, int]  # documents dropped, by reason
    per_reference: dict[str, dict[str, int]]  # reference -> trimmed, dropped, chars_removed
    pii: dict[str, int]  # personal data masked in the kept documents, by kind
    skipped: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Matcher:
    """What one shard is matched against: the references, their common n-grams, the cutting rules; and where the
    overlap reports' hits of its output go (None: no evaluation set)."""

    references: tuple[Reference, ...]
    frequent: dict[str, Any]
    cfg: DecontaminateConfig
    overlap: OverlapTracker | None = None

    def spans(self, text: str, joined: np.ndarray | None = None) -> dict[str, list[tuple[int, int]]]:
        """Per reference, the character spans of its n-grams in ``text`` (common ones ignored); ``joined``: the
        document's hashes the Spark join found in the reference without n-grams here (Wikipedia's)."""
        words = words_of(text)
        hashes = words.ngrams(self.cfg.n)
        found = {}
        for ref in self.references:
            known = ref.ngrams if ref.ngrams is not None else (EMPTY if joined is None else joined)
            matched = contains(known, hashes) & ~contains(self.frequent[ref.name], hashes)
            if matched.any():
                found[ref.name] = matched_spans(words, matched, self.cfg.n)
        return found


def _on_wikipedia(url: str, final_url: str | None, cfg: DecontaminateConfig) -> bool:
    """GPT-2's rule, on the URL and on where it redirected to."""
    return is_wikipedia_page(url, final_url, cfg.wikipedia_mirrors)


def _rules(cfg: DecontaminateConfig) -> CutRules:
    return CutRules(cfg.margin_chars, cfg.min_piece_chars, cfg.max_pieces)


def _tally(
    result: ShardResult, found: dict[str, list[tuple[int, int]]], text: str, cfg: DecontaminateConfig, kind: str
) -> None:
    """Count a trimmed or dropped document, and the characters each matching reference alone would cut."""
    for name, spans in found.items():
        entry = result.per_reference.setdefault(name, {"trimmed": 0, "dropped": 0, "chars_removed": 0})
        entry[kind] += 1
        entry["chars_removed"] += len(text) if kind == "dropped" else cut(text, spans, _rules(cfg)).removed_chars


def _masked(text: str, cfg: DecontaminateConfig, result: ShardResult) -> str:
    """The corpus's copy of a kept document's text (as cut): its personal data masked (``mask_pii``)."""
    if cfg.mask_pii:
        text, masked = mask_pii(text)
        for kind, count in masked.items():
            result.pii[kind] = result.pii.get(kind, 0) + count
    return text


def decontaminate_shard(
    docs_shard: Path,
    out_dir: Path,
    matcher: Matcher,
    key: str,
    candidates: set[int] | None = None,
    matches_file: Path | None = None,
) -> ShardResult:
    """Drop or trim every document of one docs shard; write the output shard and its rejects. Only documents at
    ``candidates`` (positions the counting pass found a reference n-gram in; None: all) are matched again, and
    those the Spark join matched in Wikipedia (``matches_file``). Documents stay Arrow rows (``documents``)."""
    cfg = matcher.cfg
    table = document_columns(read_table(docs_shard))
    texts, urls, final_urls = (table[name].to_pylist() for name in ("text", "url", "final_url"))
    joined = joined_matches(matches_file) if matches_file is not None else {}
    if candidates is not None:
        candidates = candidates | joined.keys()
    rejects = RejectWriter(out_dir, STAGE, docs_shard.name, Document, {REMOVED_SPAN: RemovedSpan})
    result = ShardResult(docs_shard.name, len(texts), 0, 0, 0, {}, {}, {})
    sources, kept, shares = [], [], []  # the kept documents' positions in the docs shard, texts, overlap scores
    for position, text in enumerate(texts):
        if cfg.drop_wikipedia and _on_wikipedia(urls[position], final_urls[position], cfg):
            rejects.add("wikipedia_domain", document_at(table, position))
            continue
        share = 0.0
        if candidates is None or position in candidates:
            found = matcher.spans(text, joined.get(position))
            outcome = cut(text, [span for spans in found.values() for span in spans], _rules(cfg))
            result.chars_removed += outcome.removed_chars
            if outcome.text is None:
                rejects.add("contaminated", document_at(table, position))
                _tally(result, found, text, cfg, "dropped")
                continue
            if found:
                result.trimmed += 1
                _tally(result, found, text, cfg, "trimmed")
                for span in removed_spans(table["id"][position].as_py(), urls[position], text, found, outcome.removed):
                    rejects.add(REMOVED_SPAN, span)
            share = outcome.removed_chars / len(text) if text else 0.0
            text = outcome.text
        sources.append(position)
        kept.append(_masked(text, cfg, result))
        shares.append(share)
    result.outcomes = {reason: count for reason, count in rejects.commit(key).items() if reason != REMOVED_SPAN}
    result.kept = len(kept)
    assert result.kept + sum(result.outcomes.values()) == result.documents, f"{docs_shard.name}: uncounted"
    output = kept_documents(table, sources, kept, shares)
    write_shard(output, out_dir / docs_shard.name, shard_fingerprint=key, extra_stats=result.stats())
    if matcher.overlap is not None:
        pairs = list(zip(sources, kept, strict=True))
        matcher.overlap.save_output(docs_shard, texts, pairs, out_dir / docs_shard.name)
    return result


def _count_shard(
    docs_shard: Path, lookup: HashSets, cfg: DecontaminateConfig, overlap: OverlapTracker | None
) -> tuple[pa.Table, list[int]]:
    """One docs shard's ``shard_counts``; the overlap report's 8-grams of its documents go to ``overlap`` from the
    same words (one reading and one word hashing of the text for both), hashed a batch of documents at a time."""
    table = read_table(docs_shard, columns=["url", "final_url", "text"])
    rows = zip(table["url"].to_pylist(), table["final_url"].to_pylist(), strict=True)
    positions = np.arange(table.num_rows)
    if cfg.drop_wikipedia:  # a page to drop is not matched
        positions[np.array([_on_wikipedia(url, final_url, cfg) for url, final_url in rows], dtype=bool)] = -1
    texts = table["text"].to_pylist()
    finder = HitFinder(lookup)
    overlap_finder = overlap.input_finder() if overlap is not None else None
    sizes = (cfg.n,) if overlap_finder is None else (cfg.n, OVERLAP_N)
    for start, stop in text_batches(texts):
        hashes, ends = joined_words(texts[start:stop])
        ngrams = joined_ngrams(hashes, sizes)
        finder.add_joined(positions[start:stop], ends, ngrams[cfg.n], cfg.n)
        if overlap_finder is not None:  # the input's report counts every page, Wikipedia's too
            overlap_finder.add_joined(np.arange(start, stop), ends, ngrams[OVERLAP_N], OVERLAP_N)
    if overlap is not None and overlap_finder is not None:
        overlap.save_input(docs_shard, overlap_finder)
    return shard_counts(finder.finish())


def _count_matches(
    inputs: list[Path],
    out_dir: Path,
    references: list[Reference],
    cfg: DecontaminateConfig,
    overlap: OverlapTracker | None,
) -> tuple[dict[str, Any], dict[str, set[int] | None]]:
    """Per docs shard, the documents holding each matched n-gram (reused per shard). Returns the common n-grams per
    reference, and per docs shard the positions of its documents with a match."""
    if not references:  # nothing to match in this process (no eval sets, Wikipedia joined in Spark)
        return {}, {shard.name: set() for shard in inputs}
    directory = out_dir / COUNTS_DIR
    key = fingerprint(STAGE, "counts", references_fingerprint(references), cfg.n, code_fingerprint(PACKAGE))
    units = [WorkUnit(directory / shard.name, fingerprint(key, input_sha256(shard)), shard) for shard in inputs]
    remove_orphan_shards(directory, {unit.name for unit in units})
    plan = plan_units(units)
    candidates = {unit.source.name: _candidates(stats) for unit, stats in plan.done}
    lookup = HashSets.of({ref.name: ref.ngrams for ref in references if ref.ngrams is not None})
    for unit in plan.todo:
        counts, positions = _count_shard(unit.source, lookup, cfg, overlap)
        extra = {"matched_positions": positions}
        write_shard(counts, unit.output, shard_fingerprint=unit.fingerprint, extra_stats=extra)
        candidates[unit.source.name] = set(positions)
    return frequent_ngrams([unit.output for unit in units], references), candidates


def _candidates(stats: dict[str, Any]) -> set[int] | None:
    positions = stats.get("matched_positions")
    return set(positions) if isinstance(positions, list) else None


def _shard_unit(
    matcher: Matcher, docs_shard: Path, key: str, candidates: set[int] | None, matches: Path | None, out_dir: Path
) -> ShardResult:
    return decontaminate_shard(docs_shard, out_dir, matcher, key, candidates, matches)


def _run_shards(
    todo: list[WorkUnit[Path]],
    out_dir: Path,
    matcher: Matcher,
    candidates: dict[str, set[int] | None],
    matches: dict[str, Path],
    advance: Any,
) -> list[ShardResult]:
    """Every shard to do; ``matches``: the Spark join's file per docs shard. The matcher (the references) goes to
    each worker once; by default one worker per ``DOCUMENTS_PER_WORKER`` documents at most."""
    jobs = [(u.source, u.fingerprint, candidates.get(u.source.name), matches.get(u.source.name), out_dir) for u in todo]
    workers = workers_for_shards(matcher.cfg.workers, [unit.source for unit in todo], DOCUMENTS_PER_WORKER)
    return run_units(_shard_unit, jobs, workers, advance, shared=matcher)


def _summarise(
    results: list[ShardResult], out_dir: Path, cfg: DecontaminateConfig, clock: Stopwatch, **details: Any
) -> StageSummary:
    per_reference: dict[str, Counter[str]] = {}
    for result in results:
        for name, counts in result.per_reference.items():
            per_reference.setdefault(name, Counter()).update(counts)
    summary = StageSummary.of_shards(
        STAGE,
        out_dir,
        results,
        ("documents", "kept", "trimmed", "chars_removed"),
        clock,
        cfg.cut_identity(),
        per_reference={name: dict(counts) for name, counts in sorted(per_reference.items())},
        **details,
    )
    if cfg.mask_pii:  # counted only when masked: zeros would say the corpus holds none
        summary.counts |= {
            name: sum(result.pii.get(kind, 0) for result in results) for kind, name in SUMMARY_COUNTS.items()
        }
    return summary.write()


def _wikipedia(
    dumps: Sequence[Path],
    inputs: list[Path],
    out_dir: Path,
    cfg: DecontaminateConfig,
    spark: SparkSession | SharedSession | None,
) -> tuple[WikipediaNgrams | None, Any]:
    """Wikipedia's n-grams as Parquet, and the Spark join's result when they are matched there (else None)."""
    if not dumps:
        return None, None
    reference = wikipedia_ngrams(dumps, cfg.n, out_dir / REFERENCE_DIR, resolve_workers(cfg.workers))
    if not joins_in_spark(cfg, reference):
        return reference, None
    from pipeline.decontaminate.spark_join import join_wikipedia  # pyspark only when the join runs

    return reference, join_wikipedia(inputs, out_dir, reference, cfg, spark)


def _sizes(references: list[Reference], wikipedia: WikipediaNgrams | None) -> dict[str, int]:
    """N-grams per reference (Wikipedia's: distinct per chunk, the same whichever way it is matched)."""
    sizes = {ref.name: len(ref.ngrams) for ref in references if ref.ngrams is not None}
    return sizes | ({WIKIPEDIA: wikipedia.ngrams} if wikipedia is not None else {})


def run_decontaminate(
    docs_dir: Path,
    out_dir: Path,
    cfg: DecontaminateConfig,
    eval_sets: Sequence[EvalSet] = (),
    wikipedia_dumps: Sequence[Path] = (),
    progress: ProgressFactory = no_progress,
    replace: bool = False,
    *,
    spark: SparkSession | SharedSession | None = None,
) -> StageSummary:
    """Decontaminate every completed shard of ``docs_dir`` into ``out_dir``; a rerun redoes only what changed.
    ``spark``: an existing session for the Wikipedia join (a test's, or a flow run's shared one), else one from
    ``cfg.spark``."""
    clock = Stopwatch()
    inputs = docs_shards(docs_dir, produced_by="filter")
    if not cfg.mask_pii:
        log.warning(
            "decontaminate: mask_pii is off: email addresses, phone numbers and IP addresses stay in %s", out_dir
        )
    references = eval_references(eval_sets, cfg)  # a bad file fails here, before anything is written
    overlap_ngrams = eval_8grams(eval_sets) if eval_sets else None
    reports = out_dir / REPORTS_DIR
    overlap = OverlapTracker(overlap_ngrams, reports / "before", reports / "after") if overlap_ngrams else None
    with folder_lock(out_dir, STAGE):
        remove_leftovers(out_dir, STAGE, {shard.name for shard in inputs}, replace)
        wikipedia, joined = _wikipedia(wikipedia_dumps, inputs, out_dir, cfg, spark)
        if wikipedia is not None:
            references.append(wikipedia_reference(wikipedia, cfg, joined=joined is not None))
        local = [ref for ref in references if ref.ngrams is not None]  # the rest: Wikipedia, joined in Spark
        frequent, candidates = _count_matches(inputs, out_dir, local, cfg, overlap)
        before = overlap_report(docs_dir, overlap.ngrams, overlap.before_dir) if overlap else None
        if joined is not None:
            frequent[WIKIPEDIA] = joined.frequent
        matcher = Matcher(tuple(references), frequent, cfg, overlap)
        key = fingerprint(STAGE, references_fingerprint(references), cfg.cut_identity(), code_fingerprint(PACKAGE))
        units = [WorkUnit(out_dir / shard.name, fingerprint(key, input_sha256(shard)), shard) for shard in inputs]
        plan = plan_units(units)
        results = [ShardResult.from_stats(unit.name, stats) for unit, stats in plan.done]
        matches = joined.matches if joined is not None else {}
        with progress("decontaminate shards", len(plan.todo), unit="shard") as advance:
            results += _run_shards(plan.todo, out_dir, matcher, candidates, matches, advance)
        after = overlap_report(out_dir, overlap.ngrams, overlap.after_dir) if overlap else None
        return _summarise(
            results,
            out_dir,
            cfg,
            clock,
            docs_dir=str(docs_dir),
            references=_sizes(references, wikipedia),
            wikipedia_join=None if wikipedia is None else ("spark" if joined is not None else "local"),
            wikipedia_shards_joined=joined.shards_joined if joined is not None else 0,
            overlap_before=before,
            overlap_after=after,
            code_fingerprint=code_fingerprint(PACKAGE),
        )
