"""Configuration of the dedup stage and of the Spark session it runs in, validated when built."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from pipeline.dedup.lsh_params import optimal_bands_rows
from pipeline.validation import check_range

SPARK_MASTER = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|(spark|k8s|mesos)://\S+|yarn)$")
SPARK_MEMORY = re.compile(r"^\d+[kmgt]?$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True)
class SparkConfig:
    """Where and how the Spark session runs: ``local[*]`` on this machine, any master URL to scale out.

    ``conf`` passes further Spark settings through unchanged (``spark.executor.memory``, ...).
    """

    master: str = "local[*]"
    app_name: str = "webtext-dedup"
    driver_memory: str = "2g"
    shuffle_partitions: int = 8
    ui_enabled: bool = False
    local_dir: str | None = None  # Spark's scratch space (shuffle spills); None: the system temp directory
    conf: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.master, str) or not SPARK_MASTER.match(self.master):
            raise ValueError(
                f"spark master must be local, local[N], local[*], spark://HOST:PORT, k8s://..., or yarn; "
                f"got {self.master!r}"
            )
        if not isinstance(self.driver_memory, str) or not SPARK_MEMORY.match(self.driver_memory):
            raise ValueError(f"spark driver_memory must look like 512m or 4g, got {self.driver_memory!r}")
        check_range("spark shuffle_partitions", self.shuffle_partitions, 1, 100_000, integer=True)
        for entry in self.conf:
            if len(entry) != 2 or not all(isinstance(part, str) for part in entry) or not entry[0].startswith("spark."):
                raise ValueError(f"spark conf entries are ('spark.some.key', 'value') pairs, got {entry!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class DedupConfig:
    """Exact and MinHash-LSH near-duplicate removal.

    ``threshold`` is the Jaccard similarity of word ``shingle_size``-grams above which two
    documents are near duplicates. ``bands`` x ``rows`` default to the datasketch-optimal
    choice for the threshold (see ``lsh_params``); set both to override. ``verify`` keeps a
    candidate pair only when the full signatures agree on at least ``threshold`` of their
    values, which removes most of the banding's false positives. ``num_perm`` and ``seed``
    define the permutations, so changing them recomputes every signature; everything else
    reuses the stored signatures.
    """

    threshold: float = 0.8
    num_perm: int = 128
    seed: int = 1
    shingle_size: int = 5
    bands: int | None = None
    rows: int | None = None
    false_negative_weight: float = 0.5
    verify: bool = True
    max_iterations: int = 64  # connected-components rounds; a path of n nodes needs O(log n)
    spark: SparkConfig = dataclasses.field(default_factory=SparkConfig)

    def __post_init__(self) -> None:
        check_range("threshold", self.threshold, 0.05, 1.0)
        check_range("num_perm", self.num_perm, 8, 1024, integer=True)
        check_range("seed", self.seed, 0, 2**32 - 1, integer=True)
        check_range("shingle_size", self.shingle_size, 1, 32, integer=True)
        check_range("false_negative_weight", self.false_negative_weight, 0.0, 1.0)
        check_range("max_iterations", self.max_iterations, 1, 10_000, integer=True)
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
