"""Spark connected components equal union-find on paths, stars and random graphs."""

from __future__ import annotations

import random

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


def test_components_equal_union_find(spark) -> None:
    rng = random.Random(7)
    edges = [(node, node + 1) for node in range(100, 140)]  # a long path: the slow case for label propagation
    edges += [(5_000, 5_000 + leaf) for leaf in range(1, 60)]  # a hub
    edges += [(rng.randint(-300, -1), rng.randint(-300, -1)) for _ in range(150)]  # random, negative ids too
    edges = [edge for edge in edges if edge[0] != edge[1]]
    labels, rounds = connected_components(spark.createDataFrame(edges, "u long, v long"))
    found = {row["node"]: row["component"] for row in labels.collect()}
    assert found == union_find_components(edges)
    assert rounds < 20
