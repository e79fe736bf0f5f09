"""From signatures to decisions, all in Spark: exact groups, LSH candidates, components, survivors.

1. Exact duplicates share ``text_hash``; each group's best document represents it.
2. Representatives with at least one shingle are cut into ``bands`` slices of ``rows``
   values; documents with an equal slice in the same band are candidates. Each bucket
   contributes a star (its smallest node linked to every other member), not all pairs, so a
   bucket of k documents costs k - 1 edges (as text-dedup's Spark script does); the
   components are the same as with all pairs.
3. With ``verify``, an edge survives only if the two full signatures agree on at least
   ``threshold`` of their values (datasketch's ``MinHash.jaccard``).
4. Connected components of the edges (``components``) are the near-duplicate clusters.
5. Each cluster keeps its best document, in the order of ``rank()``: documents of the
   reference corpus (``--against``) first, then highest karma, earliest first_seen, id.
   Survivors are chosen with ``min`` over a struct, an aggregation Spark combines map-side,
   so a giant cluster never sits in one task's memory.
"""

from __future__ import annotations

import dataclasses

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipeline.dedup.apply import EXACT, KEPT, NEAR
from pipeline.dedup.spark.checkpoints import Checkpoints
from pipeline.dedup.spark.components import connected_components


def rank() -> F.Column:
    """The survivor order as a struct, smallest first (built lazily: columns need an active session)."""
    return F.struct(
        F.when(F.col("is_reference"), 0).otherwise(1).alias("reference_last"),
        (-F.col("karma")).alias("karma_desc"),
        F.col("seen"),
        F.col("id"),
        F.col("shard"),
    )


def with_nodes(signatures: DataFrame) -> DataFrame:
    """Adds ``node`` (a 64-bit hash of corpus, shard and id: the graph's vertex) and ``rank``."""
    return signatures.withColumn("node", F.xxhash64("is_reference", "shard", "id")).withColumn("rank", rank())


def check_unique_nodes(docs: DataFrame) -> None:
    """A collision of two documents' 64-bit node ids would merge their clusters: refuse rather than guess."""
    counts = docs.agg(F.count("*").alias("rows"), F.countDistinct("node").alias("nodes")).first()
    if counts["rows"] != counts["nodes"]:
        raise ValueError(
            f"{counts['rows'] - counts['nodes']} node-id collision(s) among {counts['rows']} documents "
            "(or a document listed twice in one shard); check the docs shards for duplicate ids"
        )


def exact_representatives(docs: DataFrame) -> DataFrame:
    """Each document with ``representative``: the node of the best document sharing its ``text_hash``."""
    best = docs.groupBy("text_hash").agg(F.min("rank").alias("best_rank"))
    best_node = docs.join(best, "text_hash").where(F.col("rank") == F.col("best_rank"))
    best_node = best_node.select("text_hash", F.col("node").alias("representative"))
    return docs.join(best_node, "text_hash")


def band_edges(representatives: DataFrame, bands: int, rows: int) -> DataFrame:
    """Star edges ``(u, v)`` between documents with an equal band; one star per bucket."""
    slices = F.expr(f"transform(sequence(0, {bands - 1}), band -> slice(signature, band * {rows} + 1, {rows}))")
    banded = representatives.where("n_shingles > 0").select("node", F.posexplode(slices).alias("band", "values"))
    hubs = banded.groupBy("band", "values").agg(F.min("node").alias("hub"), F.count("*").alias("size"))
    hubs = hubs.where("size > 1")
    edges = banded.join(hubs, ["band", "values"]).where(F.col("node") != F.col("hub"))
    return edges.select(F.col("hub").alias("u"), F.col("node").alias("v")).distinct()


def agreement(first: str, second: str, num_perm: int) -> F.Column:
    """Share of equal signature values: datasketch's Jaccard estimate."""
    equal = F.expr(f"aggregate(zip_with({first}, {second}, (x, y) -> if(x = y, 1, 0)), 0, (acc, e) -> acc + e)")
    return equal / F.lit(num_perm)


def verified(edges: DataFrame, docs: DataFrame, threshold: float, num_perm: int) -> DataFrame:
    """The candidate edges whose full signatures agree on at least ``threshold`` of their values."""
    left = docs.select(F.col("node").alias("u"), F.col("signature").alias("sig_u"))
    right = docs.select(F.col("node").alias("v"), F.col("signature").alias("sig_v"))
    joined = edges.join(left, "u").join(right, "v")
    return joined.where(agreement("sig_u", "sig_v", num_perm) >= threshold).select("u", "v")


@dataclasses.dataclass(slots=True)
class Decision:
    """Members of every cluster of two or more documents, and how many edges and rounds it took.

    ``members`` has ``id``, ``shard``, ``is_reference``, ``cluster_id`` (the smallest id in the
    cluster), ``kept_id``, ``jaccard`` (estimated against the kept document) and ``reason``.
    Singletons, the vast majority, are not listed: a document absent from it is kept as it is.
    """

    members: DataFrame
    counts: dict[str, int]


def _label(docs: DataFrame, labels: DataFrame) -> DataFrame:
    """Each document's cluster: the component of its exact representative, else the representative itself."""
    labels = labels.withColumnRenamed("node", "representative")
    docs = docs.join(labels, "representative", "left")
    return docs.withColumn("cluster", F.coalesce(F.col("component"), F.col("representative"))).drop("component")


def _members(docs: DataFrame, num_perm: int) -> DataFrame:
    """Documents of clusters with two or more members, with their survivor and reason."""
    per_cluster = docs.groupBy("cluster").agg(
        F.count("*").alias("size"),
        F.min("rank").alias("best"),
        F.min("id").alias("cluster_id"),
    )
    docs = docs.join(per_cluster.where("size > 1"), "cluster")
    kept = docs.where(F.col("rank") == F.col("best")).select(
        "cluster",
        F.col("node").alias("kept_node"),
        F.col("id").alias("kept_id"),
        F.col("text_hash").alias("kept_hash"),
        F.col("signature").alias("kept_signature"),
    )
    docs = docs.join(kept, "cluster")
    reason = (
        F.when(F.col("node") == F.col("kept_node"), KEPT)
        .when((F.col("node") != F.col("representative")) | (F.col("text_hash") == F.col("kept_hash")), EXACT)
        .otherwise(NEAR)
    )
    return docs.select(
        "id",
        "shard",
        "is_reference",
        "cluster_id",
        "kept_id",
        agreement("signature", "kept_signature", num_perm).cast("float").alias("jaccard"),
        reason.alias("reason"),
        "size",
    )


def decide(
    docs: DataFrame,
    threshold: float,
    bands: int,
    rows: int,
    num_perm: int,
    verify: bool,
    max_iterations: int,
    checkpoints: Checkpoints,
) -> Decision:
    """Cluster ``docs`` (signature rows plus ``shard`` and ``is_reference``); see the module docstring.

    Each step is checkpointed by ``checkpoints``; once ``members`` is materialised every earlier
    step is released, so only ``members`` stays held (until the caller closes ``checkpoints``).
    """
    docs = checkpoints(exact_representatives(with_nodes(docs)))
    check_unique_nodes(docs)
    representatives = docs.where(F.col("node") == F.col("representative"))
    candidates = checkpoints(band_edges(representatives, bands, rows))
    edges = checkpoints(verified(candidates, representatives, threshold, num_perm)) if verify else candidates
    counts = {"candidate_edges": candidates.count(), "verified_edges": edges.count()}
    labels, rounds = connected_components(edges, max_iterations, checkpoints)
    members = checkpoints(_members(_label(docs, labels), num_perm))
    checkpoints.release_all(keep=[members])
    return Decision(members, {"cc_rounds": rounds, **counts})
