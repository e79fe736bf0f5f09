"""From signatures to decisions in this process: each step of ``pipeline.dedup.spark.clusters``, on arrays.

The same exact groups, the same star edges per LSH bucket (hub: the smallest of Spark's node hashes,
``nodes``), the same verification, components and survivor order, so the members, their reasons and the
statistics are Spark's. Memory: every signature in one array (512 bytes a document at 128 permutations),
which is why ``pipeline.dedup.engine`` sends large inputs to Spark.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.dedup.apply import EXACT, KEPT, NEAR
from pipeline.dedup.local.nodes import spark_xxhash64
from pipeline.shards import PARQUET_COMPRESSION, PARQUET_COMPRESSION_LEVEL, read_table

LARGEST_CLUSTERS = 10
MEMBER_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("cluster_id", pa.string()),
        ("kept_id", pa.string()),
        ("jaccard", pa.float32()),
        ("reason", pa.string()),
    ]
)


@dataclasses.dataclass(slots=True)
class Documents:
    """The signature rows of one decision, new shards first, then the reference corpus's kept documents."""

    ids: list[str]
    shards: list[str]
    is_reference: np.ndarray
    text_hash: list[str]
    n_shingles: np.ndarray
    signatures: np.ndarray  # (documents, num_perm) uint32
    nodes: np.ndarray  # Spark's xxhash64 of (is_reference, shard, id)
    rank: np.ndarray  # each document's position in the survivor order (``spark.clusters.rank``)


def load_documents(
    signature_shards: list[Path], reference: tuple[list[Path], list[Path]] | None, num_perm: int
) -> Documents:
    """The rows Spark's ``read_signatures`` (and ``reference_signatures``: kept documents only) would read."""
    tables: list[tuple[pa.Table, str, bool]] = [(read_table(path), path.name, False) for path in signature_shards]
    if reference is not None:
        reference_signatures, kept_shards = reference
        kept = {
            (doc_id, path.name) for path in kept_shards for doc_id in read_table(path, columns=["id"])["id"].to_pylist()
        }
        for path in reference_signatures:
            table = read_table(path)
            mask = [(doc_id, path.name) in kept for doc_id in table["id"].to_pylist()]
            tables.append((table.filter(pa.array(mask, pa.bool_())), path.name, True))
    ids, shards, is_reference, text_hash, karma, seen, n_shingles, signatures = [], [], [], [], [], [], [], []
    for table, name, referenced in tables:
        ids += table["id"].to_pylist()
        shards += [name] * table.num_rows
        is_reference += [referenced] * table.num_rows
        text_hash += table["text_hash"].to_pylist()
        karma += table["karma"].to_pylist()
        seen += table["seen"].cast(pa.int64()).to_pylist()
        n_shingles += table["n_shingles"].to_pylist()
        values = table["signature"].combine_chunks().flatten().to_numpy(zero_copy_only=False)
        signatures.append(values.astype(np.int32, copy=False).view(np.uint32).reshape(-1, num_perm))

    def survivor_order(i: int) -> tuple[Any, ...]:  # Spark's struct order: an unset ``seen`` sorts first
        return (0 if is_reference[i] else 1, -karma[i], seen[i] is not None, seen[i] or 0, ids[i], shards[i])

    order = sorted(range(len(ids)), key=survivor_order)
    rank = np.empty(len(ids), np.int64)
    rank[order] = np.arange(len(ids))
    nodes = np.array([spark_xxhash64(*row) for row in zip(is_reference, shards, ids, strict=True)], np.int64)
    return Documents(
        ids,
        shards,
        np.array(is_reference, bool),
        text_hash,
        np.array(n_shingles, np.int64),
        np.concatenate(signatures) if signatures else np.empty((0, num_perm), np.uint32),
        nodes,
        rank,
    )


def check_unique_nodes(docs: Documents) -> None:
    """A collision of two documents' 64-bit node ids would merge their clusters: refuse, as Spark does."""
    collisions = len(docs.nodes) - len(np.unique(docs.nodes))
    if collisions:
        raise ValueError(
            f"{collisions} node-id collision(s) among {len(docs.nodes)} documents "
            "(or a document listed twice in one shard); check the docs shards for duplicate ids"
        )


def exact_representatives(docs: Documents) -> np.ndarray:
    """Each document's representative: the best-ranked document with its ``text_hash``."""
    best: dict[str, int] = {}
    for index, key in enumerate(docs.text_hash):
        if key not in best or docs.rank[index] < docs.rank[best[key]]:
            best[key] = index
    return np.array([best[key] for key in docs.text_hash], np.int64)


def band_edges(docs: Documents, representatives: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Distinct star edges (hub index, member index) between representatives with an equal band."""
    members = representatives[docs.n_shingles[representatives] > 0]
    edges = []
    for band in range(bands):
        block = np.ascontiguousarray(docs.signatures[members, band * rows : (band + 1) * rows])
        keys = block.view(np.dtype((np.void, block.dtype.itemsize * rows))).ravel()
        _, bucket = np.unique(keys, return_inverse=True)
        order = np.lexsort((docs.nodes[members], bucket))  # by bucket, then node: each bucket's hub first
        bucket, ordered = bucket[order], members[order]
        starts = np.r_[True, bucket[1:] != bucket[:-1]]
        hubs = ordered[np.flatnonzero(starts)][np.cumsum(starts) - 1]
        spoke = ~starts
        edges.append(np.stack([hubs[spoke], ordered[spoke]], axis=1))
    found = np.concatenate(edges) if edges else np.empty((0, 2), np.int64)
    return np.unique(found, axis=0) if len(found) else found.reshape(0, 2)


def agreement(docs: Documents, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Share of equal signature values of each pair (as Spark's double division)."""
    equal = (docs.signatures[first] == docs.signatures[second]).sum(axis=1)
    return equal / docs.signatures.shape[1]


def component_minima(docs: Documents, edges: np.ndarray) -> dict[int, int]:
    """Index -> the smallest node of its component, for every document on an edge (union-find)."""
    parent: dict[int, int] = {}

    def find(index: int) -> int:
        parent.setdefault(index, index)
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for u, v in edges.tolist():
        root_u, root_v = find(u), find(v)
        if root_u != root_v:
            parent[root_u] = root_v
    smallest: dict[int, int] = {}
    for index in parent:
        root = find(index)
        node = int(docs.nodes[index])
        smallest[root] = min(smallest.get(root, node), node)
    return {index: smallest[find(index)] for index in parent}


@dataclasses.dataclass(slots=True)
class Members:
    """Every document of a cluster of two or more: index, cluster id, kept index, jaccard, reason, size."""

    index: np.ndarray
    cluster_id: list[str]
    kept: np.ndarray
    jaccard: np.ndarray
    reason: list[str]
    size: np.ndarray


def members(docs: Documents, representatives: np.ndarray, labels: dict[int, int]) -> Members:
    """Cluster each document by its representative's component, then pick survivors and reasons."""
    clusters: dict[int, list[int]] = defaultdict(list)
    for index, representative in enumerate(representatives.tolist()):
        clusters[labels.get(representative, int(docs.nodes[representative]))].append(index)
    index, cluster_id, kept, reason, size = [], [], [], [], []
    for group in clusters.values():
        if len(group) < 2:
            continue
        best = min(group, key=lambda member: docs.rank[member])
        smallest_id = min(docs.ids[member] for member in group)
        for member in group:
            index.append(member)
            cluster_id.append(smallest_id)
            kept.append(best)
            size.append(len(group))
            if member == best:
                reason.append(KEPT)
            elif representatives[member] != member or docs.text_hash[member] == docs.text_hash[best]:
                reason.append(EXACT)
            else:
                reason.append(NEAR)
    indices, kept_indices = np.array(index, np.int64), np.array(kept, np.int64)
    jaccard = agreement(docs, indices, kept_indices).astype(np.float32) if index else np.empty(0, np.float32)
    return Members(indices, cluster_id, kept_indices, jaccard, reason, np.array(size, np.int64))


def statistics(docs: Documents, found: Members) -> dict[str, Any]:
    """What ``pipeline.dedup.spark.job`` collects: reasons, cluster sizes, the largest clusters."""
    reasons: Counter[str] = Counter()
    clusters: dict[str, dict[str, Any]] = {}
    for position, member in enumerate(found.index.tolist()):
        referenced = bool(docs.is_reference[member])
        if not referenced:
            reasons[found.reason[position]] += 1
        cluster = clusters.setdefault(
            found.cluster_id[position],
            {"size": int(found.size[position]), "kept_id": None, "has_reference": False, "new_members": 0},
        )
        if found.reason[position] == KEPT:
            kept_id = docs.ids[int(found.kept[position])]
            cluster["kept_id"] = kept_id if cluster["kept_id"] is None else max(cluster["kept_id"], kept_id)
        cluster["has_reference"] |= referenced
        cluster["new_members"] += not referenced
    histogram = Counter(cluster["size"] for cluster in clusters.values())
    largest = sorted(clusters.items(), key=lambda item: (-item[1]["size"], item[0]))[:LARGEST_CLUSTERS]
    return {
        "reasons": dict(sorted(reasons.items())),
        "clusters": sum(histogram.values()),
        "cluster_sizes": {str(size): count for size, count in sorted(histogram.items())},
        "largest_clusters": [
            {"cluster_id": cluster_id, "kept_id": cluster["kept_id"], "size": cluster["size"]}
            for cluster_id, cluster in largest
        ],
        "new_documents_matching_reference": sum(
            cluster["new_members"] for cluster in clusters.values() if cluster["has_reference"]
        ),
    }


def write_members(docs: Documents, found: Members, directory: Path) -> None:
    """The new shards' members, one folder per shard (``shard=<name>/``), as Spark's partitioned write lays out."""
    by_shard: dict[str, list[int]] = defaultdict(list)
    for position, member in enumerate(found.index.tolist()):
        if not docs.is_reference[member]:
            by_shard[docs.shards[member]].append(position)
    directory.mkdir(parents=True)
    for shard, positions in sorted(by_shard.items()):
        positions.sort(key=lambda position: docs.ids[int(found.index[position])])
        table = pa.table(
            {
                "id": [docs.ids[int(found.index[position])] for position in positions],
                "cluster_id": [found.cluster_id[position] for position in positions],
                "kept_id": [docs.ids[int(found.kept[position])] for position in positions],
                "jaccard": found.jaccard[positions],
                "reason": [found.reason[position] for position in positions],
            },
            schema=MEMBER_SCHEMA,
        )
        (directory / f"shard={shard}").mkdir()
        path = directory / f"shard={shard}" / "part-00000.parquet"
        pq.write_table(table, path, compression=PARQUET_COMPRESSION, compression_level=PARQUET_COMPRESSION_LEVEL)
