"""Where dedup computes signatures and clusters them: in Spark, or in this process when the input is too small
to repay a Spark session's start-up (seconds of JVM and dozens of tiny jobs for a few thousand documents).

Both engines write the same signatures shards and reach the same decision, byte for byte (tests compare them),
so ``engine`` changes speed only and never a fingerprint. ``auto`` is Spark when the session's master is a
cluster (its executors are the point) or when more than ``local_max_documents`` documents, new and reference,
are clustered at once (the local engine holds every signature in memory); else local.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.dedup.apply import DUPLICATES_DIR
from pipeline.dedup.config import DedupConfig
from pipeline.shards import read_stats
from pipeline.spark.adopt import WrittenShard
from pipeline.stage import workers_for_shards

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from pipeline.spark.session import SharedSession

CHECKPOINTS_SCRATCH = "checkpoints"
SIGNATURE_DOCUMENTS_PER_WORKER = 10_000  # ~3 CPU s of sketching: more than a spawned worker's start


class Engine(Protocol):
    name: str

    def signatures(self, shards: list[Path], scratch: Path) -> dict[str, WrittenShard | None]:
        """Signature shards of ``shards`` written under ``scratch``: shard name -> its file, or None if empty."""

    def cluster(
        self, signatures: list[Path], reference: tuple[list[Path], list[Path]] | None, written: Path, scratch: Path
    ) -> dict[str, Any]:
        """Cluster ``signatures`` (against ``reference``), the new shards' members into ``written``; statistics."""


class LocalEngine:
    name = "local"

    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg

    def signatures(self, shards: list[Path], scratch: Path) -> dict[str, WrittenShard | None]:
        from pipeline.dedup.local.signatures import compute_signatures

        cfg = self.cfg
        workers = workers_for_shards(cfg.workers, shards, SIGNATURE_DOCUMENTS_PER_WORKER)
        return compute_signatures(shards, scratch, cfg.num_perm, cfg.seed, cfg.shingle_size, workers)

    def cluster(
        self, signatures: list[Path], reference: tuple[list[Path], list[Path]] | None, written: Path, scratch: Path
    ) -> dict[str, Any]:
        from pipeline.dedup.local.job import cluster_and_write

        return cluster_and_write(signatures, reference, self.cfg, written, scratch / DUPLICATES_DIR)


class SparkEngine:
    name = "spark"

    def __init__(self, cfg: DedupConfig, session: SparkSession) -> None:
        self.cfg, self.session = cfg, session

    def signatures(self, shards: list[Path], scratch: Path) -> dict[str, WrittenShard | None]:
        from pipeline.dedup.spark.signatures import compute_signatures

        cfg = self.cfg
        return compute_signatures(self.session, shards, scratch, cfg.num_perm, cfg.seed, cfg.shingle_size)

    def cluster(
        self, signatures: list[Path], reference: tuple[list[Path], list[Path]] | None, written: Path, scratch: Path
    ) -> dict[str, Any]:
        from pipeline.dedup.spark.job import cluster_and_write, read_signatures, reference_signatures

        frame = read_signatures(self.session, signatures, is_reference=False)
        if reference is not None:
            frame = frame.unionByName(reference_signatures(self.session, *reference))
        scratches = (scratch / DUPLICATES_DIR, scratch / CHECKPOINTS_SCRATCH)
        return cluster_and_write(self.session, frame, self.cfg, written, *scratches)


def documents_to_cluster(fresh: list[Path], reference_signatures: list[Path]) -> int:
    """New documents plus the reference's signature rows (an upper bound on its kept ones), from stats files."""
    return sum(int((read_stats(shard) or {}).get("rows", 0)) for shard in [*fresh, *reference_signatures])


def chosen_engine(cfg: DedupConfig, documents: int) -> str:
    """``cfg.engine``, with ``auto`` resolved as the module docstring says."""
    if cfg.engine != "auto":
        return cfg.engine
    return "spark" if not cfg.spark.is_local or documents > cfg.local_max_documents else "local"


@contextlib.contextmanager
def open_engine(
    cfg: DedupConfig, spark: SparkSession | SharedSession | None, fresh: list[Path], documents: int
) -> Iterator[Engine]:
    """The engine for this run; a Spark one holds its session (``spark``, or one sized to ``fresh``) until exit."""
    if chosen_engine(cfg, documents) == "local":
        yield LocalEngine(cfg)
        return
    from pipeline.spark.session import spark_session
    from pipeline.spark.sizing import uncompressed_bytes

    with spark_session(cfg.spark, spark, uncompressed_bytes(fresh, "text")) as session:
        yield SparkEngine(cfg, session)
