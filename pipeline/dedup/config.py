"""Configuration of the dedup stage and of the Spark session it runs in, validated when built."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from pipeline.dedup.lsh_params import optimal_bands_rows
from pipeline.settings import setting
from pipeline.validation import check_range

SPARK_MASTER = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|(spark|k8s|mesos)://\S+|yarn)$")
SPARK_MEMORY = re.compile(r"^\d+[kmgt]?$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True)
class SparkConfig:
    """Where and how the Spark session runs: ``local[*]`` on this machine, any master URL to scale out.

    ``conf`` passes further Spark settings through unchanged (``spark.executor.memory``, ...).
    """

    master: str = setting("local[*]", help="Spark master URL: local[*], local[N], spark://HOST:PORT, k8s://..., yarn")
    app_name: str = setting("webtext-dedup", help="the application name Spark's UI shows")
    driver_memory: str = setting("2g", help="memory of the Spark driver (the JVM that plans the job), e.g. 4g")
    shuffle_partitions: int = setting(8, help="partitions of Spark's shuffles (joins, groupings)")
    ui_enabled: bool = setting(False, help="serve Spark's web UI while the job runs")
    local_dir: str | None = setting(
        None, help="the driver's scratch space for spills (default: the temp dir); cluster executors use their workers'"
    )
    checkpoint_dir: str | None = setting(
        None,
        help="folder for reliable checkpoints of the clustering's steps, on storage every executor reaches "
        "(shared path, hdfs://, s3a://); default: executor-local checkpoints under a local master, "
        "else OUT/_scratch/checkpoints",
    )
    conf: tuple[tuple[str, str], ...] = setting((), help="further Spark settings, spark.key=value")

    def __post_init__(self) -> None:
        if not isinstance(self.master, str) or not SPARK_MASTER.match(self.master):
            raise ValueError(
                f"spark master must be local, local[N], local[*], spark://HOST:PORT, k8s://..., or yarn; "
                f"got {self.master!r}"
            )
        if not isinstance(self.driver_memory, str) or not SPARK_MEMORY.match(self.driver_memory):
            raise ValueError(f"spark driver_memory must look like 512m or 4g, got {self.driver_memory!r}")
        check_range("spark shuffle_partitions", self.shuffle_partitions, 1, 100_000, integer=True)
        if self.checkpoint_dir is not None and (
            not isinstance(self.checkpoint_dir, str) or not self.checkpoint_dir.strip()
        ):
            raise ValueError(
                f"spark checkpoint_dir must be a folder path or URL (or unset), got {self.checkpoint_dir!r}"
            )
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

    threshold: float = setting(0.8, help="Jaccard similarity of word shingles above which documents are duplicates")
    num_perm: int = setting(128, help="MinHash permutations (changing it recomputes every signature)")
    seed: int = setting(1, help="seed of the MinHash permutations (changing it recomputes every signature)")
    shingle_size: int = setting(5, help="words per shingle")
    bands: int | None = setting(None, help="LSH bands, set with rows (default: the optimum for threshold)")
    rows: int | None = setting(None, help="rows per LSH band, set with bands")
    false_negative_weight: float = setting(0.5, help="weight of missed pairs against false candidates in banding")
    verify: bool = setting(True, help="keep an LSH candidate pair only when its signatures agree on >= threshold")
    max_iterations: int = setting(64, help="connected-components rounds at most; a chain of n needs O(log n)")
    spark: SparkConfig = setting(factory=SparkConfig, help="the Spark session the dedup runs in")

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
