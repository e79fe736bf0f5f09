"""Applying the Spark decision to one docs shard: a streaming pass in plain Python, no Spark.

The decision is stored partitioned by source shard (``duplicates/shard=<name>/``), so one
shard reads only its own rows: memory is one shard's documents plus its duplicates,
whatever the corpus size. Survivors of a cluster get ``duplicate_cluster``; the others go
to ``rejected/dedup/<reason>/`` with it set too, so every drop can be traced to its cluster.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow.dataset as ds

from pipeline.records import Document, from_table, to_table
from pipeline.rejects import RejectWriter
from pipeline.shards import ShardOutcome, ShardWriter, read_table

STAGE = "dedup"
PACKAGE = "pipeline.dedup"  # the code the outputs depend on (see ``pipeline.stage.code_fingerprint``)
DUPLICATES_DIR = "duplicates"
KEPT, EXACT, NEAR = "kept", "exact_duplicate", "near_duplicate"  # a cluster member's reason
BATCH_ROWS = 1024


@dataclasses.dataclass(slots=True)
class ShardResult(ShardOutcome):
    """Counts for one output shard (also its stats file's extra fields)."""

    name: str
    documents: int
    kept: int
    in_clusters: int  # kept documents that survived a cluster of two or more
    outcomes: dict[str, int]
    skipped: bool = False


def shard_decisions(out_dir: Path, shard_name: str) -> dict[str, tuple[str, str]]:
    """``id -> (cluster_id, reason)`` for the documents of ``shard_name`` that belong to a cluster."""
    directory = out_dir / DUPLICATES_DIR / f"shard={shard_name}"
    if not directory.is_dir():
        return {}
    table = ds.dataset(directory, format="parquet").to_table(columns=["id", "cluster_id", "reason"])
    columns = (table[name].to_pylist() for name in ("id", "cluster_id", "reason"))
    return {doc_id: (cluster, reason) for doc_id, cluster, reason in zip(*columns, strict=True)}


def apply_decisions(docs_shard: Path, out_dir: Path, shard_fingerprint: str) -> ShardResult:
    """Write ``docs_shard``'s survivors to ``out_dir`` and its duplicates to the rejects, atomically."""
    decisions = shard_decisions(out_dir, docs_shard.name)
    rejects = RejectWriter(out_dir, STAGE, docs_shard.name, Document)
    documents = in_clusters = 0
    batch: list[Document] = []
    with ShardWriter(out_dir / docs_shard.name, Document.SCHEMA) as writer:
        for document in from_table(read_table(docs_shard), Document):
            documents += 1
            cluster, reason = decisions.get(document.id, (None, KEPT))
            document.duplicate_cluster = cluster
            if reason != KEPT:
                rejects.add(reason, document)
                continue
            in_clusters += cluster is not None
            batch.append(document)
            if len(batch) >= BATCH_ROWS:
                writer.write(to_table(batch, Document))
                batch = []
        writer.write(to_table(batch, Document))
        outcomes = rejects.commit(shard_fingerprint)
        result = ShardResult(docs_shard.name, documents, writer.rows, in_clusters, outcomes)
        assert result.kept + sum(outcomes.values()) == documents, f"{docs_shard.name}: a document went uncounted"
        writer.commit(shard_fingerprint, result.stats())
    return result
