"""The global step in this process: read the signatures (and a reference corpus's), cluster, write the decision
where ``pipeline.dedup.spark.job`` writes it, with the same statistics (but ``cc_rounds``: no rounds here)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.local.clusters import (
    agreement,
    band_edges,
    check_unique_nodes,
    component_minima,
    exact_representatives,
    load_documents,
    members,
    statistics,
    write_members,
)


def cluster_and_write(
    signature_shards: list[Path],
    reference: tuple[list[Path], list[Path]] | None,
    cfg: DedupConfig,
    duplicates_dir: Path,
    scratch: Path,
) -> dict[str, Any]:
    """Decide every cluster and write the members of the new shards' clusters to ``duplicates_dir``."""
    bands, rows = cfg.banding
    docs = load_documents(signature_shards, reference, cfg.num_perm)
    check_unique_nodes(docs)
    representatives = exact_representatives(docs)
    candidates = band_edges(docs, np.flatnonzero(representatives == np.arange(len(representatives))), bands, rows)
    edges = candidates
    if cfg.verify:
        edges = candidates[agreement(docs, candidates[:, 0], candidates[:, 1]) >= cfg.threshold]
    found = members(docs, representatives, component_minima(docs, edges))
    shutil.rmtree(scratch, ignore_errors=True)
    write_members(docs, found, scratch)
    counts = {"candidate_edges": len(candidates), "verified_edges": len(edges)}
    result = {"engine": "local", **counts, **statistics(docs, found), "bands": bands, "rows": rows}
    shutil.rmtree(duplicates_dir, ignore_errors=True)
    scratch.rename(duplicates_dir)
    return result
