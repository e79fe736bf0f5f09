"""Configuration of the dedup stage, validated when built (its Spark session: ``pipeline.services.config``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from pipeline.dedup.lsh_params import optimal_bands_rows
from pipeline.services.config import SparkConfig
from pipeline.settings import setting, workers_setting
from pipeline.validation import check_range

ENGINES = ("auto", "local", "spark")


@dataclasses.dataclass(frozen=True, slots=True)
class DedupConfig:
    """Exact and MinHash-LSH near-duplicate removal.

    ``threshold`` is the Jaccard similarity of word ``shingle_size``-grams above which two
    documents are near duplicates. ``bands`` x ``rows`` default to the datasketch-optimal
    choice for the threshold (see ``lsh_params``); set both to override. ``verify`` keeps a
    candidate pair only when the full signatures agree on at least ``threshold`` of their
    values, which removes most of the banding's false positives. ``num_perm`` and ``seed``
    define the permutations, so changing them recomputes every signature; everything else
    reuses the stored signatures. ``engine`` (``pipeline.dedup.engine``) and ``workers`` change speed only.
    """

    threshold: float = setting(0.8, help="Jaccard similarity of word shingles above which documents are duplicates")
    num_perm: int = setting(128, help="MinHash permutations (changing it recomputes every signature)")
    seed: int = setting(1, help="seed of the MinHash permutations (changing it recomputes every signature)")
    shingle_size: int = setting(5, help="words per shingle")
    bands: int | None = setting(None, help="LSH bands, set with rows (default: the optimum for threshold)")
    rows: int | None = setting(None, help="rows per LSH band, set with bands")
    false_negative_weight: float = setting(0.5, help="weight of missed pairs against false candidates in banding")
    verify: bool = setting(True, help="keep an LSH candidate pair only when its signatures agree on >= threshold")
    max_iterations: int = setting(64, help="connected-components rounds at most; a chain of n needs O(log n)")
    engine: str = setting(
        "auto",
        choices=ENGINES,
        help="where signatures are computed and clustered: local (this process and its workers), spark, auto "
        "(spark on a cluster master or above local_max_documents); speed only, the same bytes",
    )
    local_max_documents: int = setting(
        500_000, help="auto clusters in Spark above this many documents, new and reference (local: ~1 KB each)"
    )
    workers: int | None = workers_setting()
    spark: SparkConfig = setting(factory=SparkConfig, help="the Spark session the dedup runs in")

    def __post_init__(self) -> None:
        check_range("threshold", self.threshold, 0.05, 1.0)
        check_range("num_perm", self.num_perm, 8, 1024, integer=True)
        check_range("seed", self.seed, 0, 2**32 - 1, integer=True)
        check_range("shingle_size", self.shingle_size, 1, 32, integer=True)
        check_range("false_negative_weight", self.false_negative_weight, 0.0, 1.0)
        check_range("max_iterations", self.max_iterations, 1, 10_000, integer=True)
        check_range("local_max_documents", self.local_max_documents, 0, 10**12, integer=True)
        if (self.bands is None) != (self.rows is None):
            raise ValueError("bands and rows are set together (or neither, to derive them from threshold)")
        if self.bands is not None:
            check_range("bands", self.bands, 1, self.num_perm, integer=True)
            check_range("rows", self.rows, 1, self.num_perm, integer=True)
            if self.bands * self.rows > self.num_perm:
                raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")

    @property
    def banding(self) -> tuple[int, int]:
        """(bands, rows) in use."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        weight = self.false_negative_weight
        return optimal_bands_rows(self.threshold, self.num_perm, 1.0 - weight, weight)

    def signature_identity(self) -> dict[str, Any]:
        """What the stored signatures depend on: changing any of it recomputes them."""
        return {"num_perm": self.num_perm, "seed": self.seed, "shingle_size": self.shingle_size, "scheme": "affine32"}

    def decision_identity(self) -> dict[str, Any]:
        """What the clustering depends on besides the signatures (not the Spark settings: they change speed only)."""
        bands, rows = self.banding
        return {"threshold": self.threshold, "bands": bands, "rows": rows, "verify": self.verify}

    def describe(self) -> dict[str, Any]:
        bands, rows = self.banding
        settings = dataclasses.asdict(self)
        settings["spark"] = {**settings["spark"], "conf": dict(self.spark.conf)}
        return {**settings, "bands": bands, "rows": rows}
