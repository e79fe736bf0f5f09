"""Spark connected components equal union-find on paths, stars and random graphs, with either kind of checkpoint."""

from __future__ import annotations

import random
from pathlib import Path

import pipeline.dedup.spark.components as components
from pipeline.dedup.spark.checkpoints import Checkpoints
from pipeline.dedup.spark.components import connected_components


def union_find_components(edges: list[tuple[int, int]]) -> dict[int, int]:
    parent: dict[int, int] = {}

    def find(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for first, second in edges:
        roots = sorted((find(first), find(second)))
        parent[roots[1]] = roots[0]
    nodes = {node for edge in edges for node in edge}
    smallest: dict[int, int] = {}
    for node in nodes:
        smallest[find(node)] = min(smallest.get(find(node), node), node)
    return {node: smallest[find(node)] for node in nodes}


def sample_edges() -> list[tuple[int, int]]:
    rng = random.Random(7)
    edges = [(node, node + 1) for node in range(100, 140)]  # a long path: the slow case for label propagation
    edges += [(5_000, 5_000 + leaf) for leaf in range(1, 60)]  # a hub
    edges += [(rng.randint(-300, -1), rng.randint(-300, -1)) for _ in range(150)]  # random, negative ids too
    return [edge for edge in edges if edge[0] != edge[1]]


def test_components_equal_union_find(spark) -> None:
    edges = sample_edges()
    labels, rounds = connected_components(spark.createDataFrame(edges, "u long, v long"))
    found = {row["node"]: row["component"] for row in labels.collect()}
    assert found == union_find_components(edges)
    assert rounds < 20


def test_reliable_checkpoints_give_the_same_components_and_hold_two_rounds(spark, tmp_path: Path, monkeypatch) -> None:
    """A checkpoint folder (as on a cluster): the same labels, and earlier rounds' files deleted as the loop goes."""
    edges = sample_edges()
    checkpoints = Checkpoints(spark, str(tmp_path / "checkpoints"))
    assert checkpoints.reliable and checkpoints.directory is not None
    folder = Path(checkpoints.directory.removeprefix("file:"))
    held, real_fingerprint = [], components._fingerprint

    def counting_fingerprint(frame):
        held.append(len(list(folder.glob("rdd-*"))))
        return real_fingerprint(frame)

    monkeypatch.setattr(components, "_fingerprint", counting_fingerprint)
    labels, rounds = connected_components(spark.createDataFrame(edges, "u long, v long"), checkpoints=checkpoints)
    assert {row["node"]: row["component"] for row in labels.collect()} == union_find_components(edges)
    assert len(held) == rounds + 1 and max(held) == 2  # the round being compared and the one before it
    assert len(list(folder.glob("rdd-*"))) == 1  # the last round: the labels read it
    checkpoints.close()
    assert not folder.exists()
