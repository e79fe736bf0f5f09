"""The filter stage: deduplicated documents in, the ones in the wanted languages that pass the quality rules out.

Layout under the output directory::

    scores/part-....parquet         fastText language, language probability and quality score per document
    part-....parquet                kept Documents with language, language_score and quality_score filled in
    rejected/filter/<reason>/       dropped Documents (scores filled in too), one directory per reason
    summary.json                    counts for the whole run

A shard is redone only when its docs shard, a model file, a threshold or the stage's code
(``pipeline/filter``) changed, and a threshold change reuses the stored scores: only the
decision reruns. Shards run in parallel worker processes, one shard per worker at a time,
or as mapped jobs of ``open_filter`` on a flow's task runner.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.code_identity import code_fingerprint
from pipeline.filter.config import FilterConfig
from pipeline.filter.decide import document_reasons
from pipeline.filter.scores import SCORES_DIR, scorer_identity, shard_scores
from pipeline.lock import folder_lock
from pipeline.progress import ProgressFactory, no_progress
from pipeline.records import Document, from_table, with_nullable_columns
from pipeline.rejects import RejectWriter, remove_leftovers
from pipeline.settings import resolve_workers
from pipeline.shards import (
    ShardOutcome,
    docs_shards,
    fingerprint,
    read_table,
    remove_orphan_shards,
    remove_stale_temporaries,
    write_shard,
)
from pipeline.stage import ShardedRun, StageSummary, Stopwatch, WorkUnit, input_sha256, plan_units

STAGE = "filter"
PACKAGE = "pipeline.filter"  # the code the outputs depend on (see ``code_fingerprint``)


@dataclasses.dataclass(slots=True)
class ShardResult(ShardOutcome):
    """Counts for one output shard (also its stats file's extra fields)."""

    name: str
    documents: int
    kept: int
    outcomes: dict[str, int]
    languages: dict[str, int]  # fastText's top language over all documents of the shard
    scores_reused: bool
    skipped: bool = False


def with_scores(documents: pa.Table, scores: pa.Table) -> pa.Table:
    """``documents`` with language, language_score and quality_score taken from ``scores`` (same row order)."""
    for name in ("language", "language_score", "quality_score"):
        position = documents.schema.get_field_index(name)
        documents = documents.set_column(position, Document.SCHEMA.field(name), scores[name])
    return documents


def _read_documents(docs_shard: Path) -> pa.Table:
    """The shard as a table with exactly Document's schema (old shards gain their missing nullable columns)."""
    table = with_nullable_columns(read_table(docs_shard), Document.SCHEMA, f"Document ({docs_shard})")
    return table.select(Document.SCHEMA.names).cast(Document.SCHEMA)


def _filter_unit(_: None, *job: Any) -> ShardResult:
    return filter_shard(*job)


def filter_shard(docs_shard: Path, out_dir: Path, cfg: FilterConfig, identity: dict[str, Any], key: str) -> ShardResult:
    """Score (or reuse the scores of) one docs shard, decide, and write its kept and rejected documents."""
    documents = _read_documents(docs_shard)
    scores, reused = shard_scores(docs_shard, documents, out_dir, cfg, identity)
    documents = with_scores(documents, scores)
    reasons = document_reasons(documents, scores, cfg)
    keep = pa.array([reason is None for reason in reasons], type=pa.bool_())  # typed: a shard may be empty
    rejects = RejectWriter(out_dir, STAGE, docs_shard.name, Document)
    dropped = documents.filter(pc.invert(keep))
    for document, reason in zip(from_table(dropped, Document), (r for r in reasons if r is not None), strict=True):
        rejects.add(reason, document)
    outcomes = rejects.commit(key)
    kept = documents.filter(keep)
    result = ShardResult(
        name=docs_shard.name,
        documents=documents.num_rows,
        kept=kept.num_rows,
        outcomes=outcomes,
        languages=dict(sorted(Counter(scores["language"].to_pylist()).items())),
        scores_reused=reused,
    )
    assert result.kept + sum(outcomes.values()) == result.documents, f"{docs_shard.name}: a document went uncounted"
    write_shard(kept, out_dir / docs_shard.name, shard_fingerprint=key, extra_stats=result.stats())
    return result


def _units(inputs: list[Path], out_dir: Path, cfg: FilterConfig, identity: dict[str, Any]) -> list[WorkUnit[Path]]:
    """One unit per docs shard, keyed by its bytes, the models and the stage's code (``identity``) and the decision's
    settings."""
    decision = cfg.decision_identity()
    return [
        WorkUnit(out_dir / shard.name, fingerprint(STAGE, input_sha256(shard), identity, decision), shard)
        for shard in inputs
    ]


def _summarise(
    docs_dir: Path,
    out_dir: Path,
    done: list[ShardResult],
    cfg: FilterConfig,
    identity: dict[str, Any],
    clock: Stopwatch,
    results: list[ShardResult],
) -> StageSummary:
    results = sorted(done + results, key=lambda result: result.name)
    languages: Counter[str] = Counter()  # fastText's top language over all documents
    for result in results:
        languages.update(result.languages)
    summary = StageSummary.of_shards(
        STAGE, out_dir, results, ("documents", "kept"), clock, cfg.describe(), docs_dir=str(docs_dir)
    )
    summary.counts["shards_rescored"] = sum(not result.skipped and not result.scores_reused for result in results)
    summary.details["languages"] = dict(languages.most_common())
    summary.details["code_fingerprint"] = identity["code"]
    return summary.write()


@contextlib.contextmanager
def open_filter(
    docs_dir: Path, out_dir: Path, cfg: FilterConfig, replace: bool = False
) -> Iterator[ShardedRun[ShardResult]]:
    """The filter run of ``docs_dir`` into ``out_dir``, its folder locked and its shards planned: one job per docs
    shard to (re)do (see ``ShardedRun``). ``replace`` as for ``run_filter``."""
    clock = Stopwatch()
    inputs = docs_shards(docs_dir, produced_by="dedup")
    # the models (a missing or unreadable one fails here, naming the file) and the code the scores come from: the
    # scores are redone when either changed, a decision setting alone reuses them
    identity = scorer_identity(cfg) | {"code": code_fingerprint(PACKAGE)}
    with folder_lock(out_dir, STAGE):
        names = {docs_shard.name for docs_shard in inputs}
        remove_leftovers(out_dir, STAGE, names, replace)
        remove_stale_temporaries(out_dir / SCORES_DIR)
        remove_orphan_shards(out_dir / SCORES_DIR, names)
        plan = plan_units(_units(inputs, out_dir, cfg, identity))
        done = [ShardResult.from_stats(unit.name, stats) for unit, stats in plan.done]
        jobs = [(unit.source.resolve(), out_dir.resolve(), cfg, identity, unit.fingerprint) for unit in plan.todo]
        summarise = functools.partial(_summarise, docs_dir, out_dir, done, cfg, identity, clock)
        yield ShardedRun(STAGE, _filter_unit, jobs, None, resolve_workers(cfg.workers), summarise)


def run_filter(
    docs_dir: Path, out_dir: Path, cfg: FilterConfig, progress: ProgressFactory = no_progress, replace: bool = False
) -> StageSummary:
    """Filter every completed shard of ``docs_dir`` into ``out_dir``; a rerun redoes only what changed.

    Counts: ``documents == kept + sum(outcomes.values())``. ``replace`` deletes output shards whose docs shard
    is gone (without it such a run stops: see ``remove_leftovers``).
    """
    with (
        open_filter(docs_dir, out_dir, cfg, replace) as run,
        progress("filter shards", len(run.jobs), unit="shard") as advance,
    ):
        return run.run_local(advance)
