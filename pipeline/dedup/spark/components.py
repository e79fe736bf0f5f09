"""Connected components in Spark by alternating large-star and small-star (Kiveris et al., SoCC 2014).

Nothing is collected to the driver: each round is two joins and aggregations over the edge
list, which is checkpointed between rounds so the query plan stays short (reliably on a
cluster, see ``checkpoints``); a round's checkpoint is released once the next one is
materialised and compared with it. A round makes
every node point closer to the smallest node of its component; when a round no longer
changes the edge set, every edge is ``(node, component minimum)``. Paths of n nodes need
O(log n) rounds; a hub of huge degree is only a large group in an aggregation (combined
map-side), never a list held by one task.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipeline.dedup.spark.checkpoints import Checkpoints


class ComponentsDidNotConverge(RuntimeError):
    """More rounds than ``max_iterations``: raise the limit (it is a safety net, not a tuning knob)."""


def _both_directions(edges: DataFrame) -> DataFrame:
    return edges.unionByName(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))


def large_star(edges: DataFrame) -> DataFrame:
    """Each node's larger neighbours are connected to the smallest node of its closed neighbourhood."""
    directed = _both_directions(edges)
    smallest = directed.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
    return (
        directed.join(smallest, "u")
        .where(F.col("v") > F.col("u"))
        .select(F.col("v").alias("u"), F.col("m").alias("v"))
        .distinct()
    )


def small_star(edges: DataFrame) -> DataFrame:
    """Each node and its smaller neighbours are connected to the smallest of them."""
    directed = edges.select(F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v")).where("u != v")
    smallest = directed.groupBy("u").agg(F.min("v").alias("m"))
    neighbours = directed.join(smallest, "u").where(F.col("v") != F.col("m")).select(F.col("v").alias("u"), "m")
    own = smallest.select("u", "m")
    return neighbours.unionByName(own).select("u", F.col("m").alias("v")).distinct()


def _fingerprint(edges: DataFrame) -> tuple[int, int]:
    """(count, sum of edge hashes): one pass; equal fingerprints are confirmed exactly before stopping."""
    row = edges.agg(F.count("*").alias("n"), F.sum(F.xxhash64("u", "v").cast("decimal(38,0)")).alias("h")).first()
    return int(row["n"]), int(row["h"] or 0)


def connected_components(
    edges: DataFrame, max_iterations: int = 64, checkpoints: Checkpoints | None = None
) -> tuple[DataFrame, int]:
    """``(node, component)`` for every node of the undirected ``edges`` (``u``, ``v`` longs), and the rounds run.

    ``component`` is the smallest node of the component. Nodes without edges are not listed. The
    labels read the last round's checkpoint: ``checkpoints`` (the caller's) must hold it until they
    are materialised; without ``checkpoints`` the rounds are local checkpoints held by Spark.
    """
    if checkpoints is None:
        checkpoints = Checkpoints(edges.sparkSession)  # local master only: elsewhere it asks for a folder
    current = checkpoints(edges.select("u", "v").where("u != v").distinct())
    current_fingerprint = _fingerprint(current)
    rounds = 0
    while True:
        rounds += 1
        if rounds > max_iterations:
            raise ComponentsDidNotConverge(f"connected components did not converge in {max_iterations} rounds")
        after = checkpoints(small_star(large_star(current)))
        after_fingerprint = _fingerprint(after)
        unchanged = after_fingerprint == current_fingerprint and after.exceptAll(current).isEmpty()
        checkpoints.release(current)  # the earlier round: nothing reads it any more
        current, current_fingerprint = after, after_fingerprint
        if unchanged:
            break
    labels = _both_directions(current).groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("component"))
    return labels.select(F.col("u").alias("node"), "component"), rounds
