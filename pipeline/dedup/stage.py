"""The dedup stage: extracted documents in, the same shards without exact and near duplicates out.

Layout under the output directory::

    signatures/part-....parquet       exact key + MinHash signature per document, one shard per docs shard
    duplicates/shard=<docs shard>/    every member of every duplicate cluster (the engine's decision):
                                      id, cluster_id, kept_id, jaccard (estimate vs the kept one), reason
    clusters.json                     the decision's fingerprint and statistics (cluster sizes, largest, edges)
    part-....parquet                  surviving Documents, named after their docs shards
    rejected/dedup/<reason>/          exact_duplicate and near_duplicate Documents
    summary.json                      counts for the whole run
    _scratch/                         the engine's output before it is moved into place; reliable checkpoints

Three steps, each resumable (and each redone when the stage's code, ``pipeline/dedup``, changed), the first
two in the run's engine (``engine``: Spark, or this process for small inputs; the same bytes either way):
signatures are computed for docs shards that lack them (or changed), each shard written whole by one
task (here they are only moved into place and given their stats); the clustering reruns only when some
signature shard, the reference corpus or a clustering setting changed; applying the decision is a
streaming pass per shard that skips shards already written under the same decision.

Incremental (nightly) runs, two ways. Into the same folder: docs shards an earlier completed
run decided under the same settings are settled (``increment``); only the new ones are
clustered, against the settled shards' kept documents, whose outputs never change. Into a new
folder: ``against`` names an earlier dedup output, used the same way. Either way the stored
signatures are reused and a new document that duplicates the existing corpus is dropped.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.code_identity import code_fingerprint
from pipeline.dedup.apply import DUPLICATES_DIR, PACKAGE, STAGE, ShardResult, apply_decisions
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.engine import Engine, documents_to_cluster, open_engine
from pipeline.dedup.increment import merge_partitions, record_settled, settled_shards
from pipeline.dedup.signature_rows import SIGNATURE_SCHEMA
from pipeline.lock import folder_lock
from pipeline.progress import ProgressFactory, no_progress
from pipeline.rejects import remove_leftovers
from pipeline.shards import (
    atomic_write_json,
    complete_shards,
    docs_shards,
    fingerprint,
    read_json,
    read_stats,
    remove_orphan_shards,
    remove_stale_temporaries,
)
from pipeline.spark.adopt import adopt_or_write_empty
from pipeline.stage import StageSummary, Stopwatch, WorkUnit, input_sha256, plan_units

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from pipeline.spark.session import SharedSession

SIGNATURES_DIR = "signatures"
SCRATCH_DIR = "_scratch"
CLUSTERS_FILE = "clusters.json"


def _signature_fingerprint(docs_shard: Path, cfg: DedupConfig) -> str:
    code = code_fingerprint(PACKAGE)
    return fingerprint(STAGE, "signatures", input_sha256(docs_shard), cfg.signature_identity(), code)


def _update_signatures(engine: Engine, inputs: list[Path], out_dir: Path, cfg: DedupConfig) -> tuple[list[Path], int]:
    """Signature shards for every input, computing only the missing or stale ones; (all of them, computed)."""
    directory = out_dir / SIGNATURES_DIR
    directory.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(directory)
    units = [WorkUnit(directory / shard.name, _signature_fingerprint(shard, cfg), shard) for shard in inputs]
    remove_orphan_shards(directory, {unit.name for unit in units})
    todo = {unit.name: unit for unit in plan_units(units).todo}
    if todo:
        scratch = out_dir / SCRATCH_DIR / SIGNATURES_DIR
        shards = [unit.source for unit in todo.values()]
        written = engine.signatures(shards, scratch)
        for name, unit in todo.items():  # the engine wrote the shards: here they are moved and get their stats
            identity = {"signature": cfg.signature_identity(), "docs_shard": name}
            adopt_or_write_empty(
                written[name], unit.output, SIGNATURE_SCHEMA, shard_fingerprint=unit.fingerprint, extra_stats=identity
            )
        shutil.rmtree(scratch)
    return [unit.output for unit in units], len(todo)


def _reference(against: Path, cfg: DedupConfig) -> tuple[list[Path], list[Path]]:
    """An earlier dedup output's signature shards and kept-document shards, checked to be compatible."""
    signatures = complete_shards(against / SIGNATURES_DIR) if (against / SIGNATURES_DIR).is_dir() else []
    kept = complete_shards(against)
    if not signatures or not kept:
        raise FileNotFoundError(f"--against {against} is not a dedup output directory (no signatures/ or shards)")
    for shard in signatures:
        identity = (read_stats(shard) or {}).get("signature")
        if identity != cfg.signature_identity():
            raise ValueError(
                f"--against {against}: {shard.name} was computed with {identity}, this run uses "
                f"{cfg.signature_identity()}; signatures must match to compare documents"
            )
    return signatures, kept


def _decision_fingerprint(
    signatures: list[Path], reference: tuple[list[Path], list[Path]] | None, cfg: DedupConfig
) -> str:
    shas = [(path.name, input_sha256(path)) for path in signatures]
    reference_shas = [(str(path), input_sha256(path)) for group in (reference or ([], [])) for path in group]
    return fingerprint(STAGE, "decision", shas, reference_shas, cfg.decision_identity(), code_fingerprint(PACKAGE))


def _decide(
    engine: Engine,
    signatures: list[Path],
    reference: tuple[list[Path], list[Path]] | None,
    out_dir: Path,
    cfg: DedupConfig,
    merge: bool,
) -> tuple[str, dict[str, Any], bool]:
    """The clustering's fingerprint and statistics; clusters again only when an input or setting changed. With
    ``merge`` (an increment), the new shards' partitions join the decision folder instead of replacing it."""
    decision_fingerprint = _decision_fingerprint(signatures, reference, cfg)
    previous = read_json(out_dir / CLUSTERS_FILE) or {}
    if previous.get("fingerprint") == decision_fingerprint and (out_dir / DUPLICATES_DIR).is_dir():
        return decision_fingerprint, previous["statistics"], True
    (out_dir / CLUSTERS_FILE).unlink(missing_ok=True)  # the old decision is about to be replaced
    scratch = out_dir / SCRATCH_DIR
    written = scratch / "increment" if merge else out_dir / DUPLICATES_DIR
    statistics = engine.cluster(signatures, reference, written, scratch)
    if merge:
        merge_partitions(written, out_dir / DUPLICATES_DIR)
    atomic_write_json(out_dir / CLUSTERS_FILE, {"fingerprint": decision_fingerprint, "statistics": statistics})
    return decision_fingerprint, statistics, False


def _reference_parts(
    against: Path | None, settled: list[str], out_dir: Path, cfg: DedupConfig
) -> tuple[list[Path], list[Path]] | None:
    """What new documents are compared with: an earlier output (``against``) and this folder's settled shards."""
    signatures, kept = _reference(against, cfg) if against is not None else ([], [])
    signatures += [out_dir / SIGNATURES_DIR / name for name in settled]
    kept += [out_dir / name for name in settled]
    return (signatures, kept) if signatures else None


def _apply(
    inputs: list[Path], out_dir: Path, decision_fingerprint: str, progress: ProgressFactory
) -> list[ShardResult]:
    units = [
        WorkUnit(out_dir / shard.name, fingerprint(STAGE, input_sha256(shard), decision_fingerprint), shard)
        for shard in inputs
    ]
    plan = plan_units(units)
    results = [ShardResult.from_stats(unit.name, stats) for unit, stats in plan.done]
    with progress("dedup shards", len(plan.todo), unit="shard") as advance:
        for position, unit in enumerate(plan.todo, start=1):
            results.append(apply_decisions(unit.source, out_dir, unit.fingerprint))
            advance(position)
    return sorted(results, key=lambda result: result.name)


def run_dedup(
    docs_dir: Path,
    out_dir: Path,
    cfg: DedupConfig,
    against: Path | None = None,
    spark: SparkSession | SharedSession | None = None,
    progress: ProgressFactory = no_progress,
    replace: bool = False,
) -> StageSummary:
    """Deduplicate every completed shard of ``docs_dir`` into ``out_dir`` (optionally against an earlier output).

    Counts: ``documents == kept + sum(outcomes.values())``. ``replace`` deletes output shards whose docs shard is
    gone (without it such a run stops: see ``remove_leftovers``). ``spark``: a session to use (a test's, or a flow
    run's shared one), else one for this call, sized to the new shards' text under ``driver_memory: auto``.
    """
    clock = Stopwatch()
    inputs = docs_shards(docs_dir, produced_by="extract")
    if against is not None and against.resolve() == out_dir.resolve():
        raise ValueError(f"--against {against} is the output directory itself; give the previous run's directory")
    with folder_lock(out_dir, STAGE):
        remove_leftovers(out_dir, STAGE, {shard.name for shard in inputs}, replace)
        settled = settled_shards(out_dir, inputs, cfg, against)
        fresh = [shard for shard in inputs if shard.name not in settled]
        computed, statistics, reused = 0, (read_json(out_dir / CLUSTERS_FILE) or {}).get("statistics", {}), True
        results = [ShardResult.from_stats(name, read_stats(out_dir / name) or {}) for name in settled]
        engine = None
        if fresh:  # nothing new: no engine, no Spark session at all
            reference = _reference_parts(against, settled, out_dir, cfg)
            documents = documents_to_cluster(fresh, reference[0] if reference else [])
            with open_engine(cfg, spark, fresh, documents) as opened:
                signatures, computed = _update_signatures(opened, inputs, out_dir, cfg)
                fresh_signatures = [path for path in signatures if path.name not in settled]
                decision, statistics, reused = _decide(
                    opened, fresh_signatures, reference, out_dir, cfg, merge=bool(settled)
                )
                engine = opened.name
            results += _apply(fresh, out_dir, decision, progress)
        record_settled(out_dir, inputs, cfg, against)
        summary = StageSummary.of_shards(
            STAGE,
            out_dir,
            sorted(results, key=lambda result: result.name),
            ("documents", "kept"),
            clock,
            cfg.describe(),
            docs_dir=str(docs_dir),
            against=str(against) if against else None,
            clusters=statistics,  # the statistics of clusters.json: the latest decision (an increment's own)
            decision_reused=reused,
            engine=engine,
            settled_shards=len(settled),
            code_fingerprint=code_fingerprint(PACKAGE),
        )
        summary.counts.update(clusters=statistics.get("clusters", 0), signature_shards_computed=computed)
        return summary.write()
