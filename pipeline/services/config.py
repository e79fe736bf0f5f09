"""The run's services, one setting each: the flow's ``services:`` section and the stages' service fields.

A stage config carries the service fields its pure function needs (``DedupConfig.spark``,
``TrainConfig.ray_address``, ...), so ``webtext dedup --spark-master ...`` overrides them for one command.
In a run config they are never written per stage: ``SERVICE_FIELDS`` names them, the flow's stage sections
leave them out (such a key there fails, naming where it is set), and ``with_services`` fills them from ``services``.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from pipeline.settings import setting
from pipeline.validation import check_range

SPARK_MASTER = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|(spark|k8s|mesos)://\S+|yarn)$")
SPARK_MEMORY = re.compile(r"^\d+[kmgt]?$", re.IGNORECASE)
TASK_RUNNERS = ("process", "thread", "ray")


@dataclasses.dataclass(frozen=True, slots=True)
class SparkConfig:
    """Where and how a Spark session runs (dedup, the Wikipedia join): ``local[*]`` here, a master URL to scale out.

    ``conf`` passes further Spark settings through unchanged (``spark.executor.memory``, ...). A cluster
    that runs ``spark.authenticate`` shares a secret with its driver: ``auth_secret_file`` names the file
    holding it (read when the session starts, never logged or recorded).
    """

    master: str = setting("local[*]", help="Spark master URL: local[*], local[N], spark://HOST:PORT, k8s://..., yarn")
    app_name: str = setting("webtext", help="the application name Spark's UI shows")
    driver_memory: str = setting(
        "auto",
        help="memory of the Spark driver JVM, e.g. 4g; auto: sized to the job's input under a local master "
        "(512m + half the uncompressed input, at most 8g), 2g under a cluster master",
    )
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
    auth_secret_file: str | None = setting(
        None, help="file holding the cluster's spark.authenticate secret (turns spark.authenticate on)"
    )
    conf: tuple[tuple[str, str], ...] = setting((), help="further Spark settings, spark.key=value")

    def __post_init__(self) -> None:
        if not isinstance(self.master, str) or not SPARK_MASTER.match(self.master):
            hint = f": write spark://{self.master}" if isinstance(self.master, str) and "://" not in self.master else ""
            raise ValueError(
                f"spark master must be local, local[N], local[*], spark://HOST:PORT, k8s://..., or yarn; "
                f"got {self.master!r}{hint}"
            )
        memory = self.driver_memory
        if not isinstance(memory, str) or not (memory == "auto" or SPARK_MEMORY.match(memory)):
            raise ValueError(f"spark driver_memory must be auto or a size like 512m or 4g, got {memory!r}")
        check_range("spark shuffle_partitions", self.shuffle_partitions, 1, 100_000, integer=True)
        for name in ("checkpoint_dir", "auth_secret_file"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"spark {name} must be a path (or unset), got {value!r}")
        for entry in self.conf:
            if len(entry) != 2 or not all(isinstance(part, str) for part in entry) or not entry[0].startswith("spark."):
                raise ValueError(f"spark conf entries are ('spark.some.key', 'value') pairs, got {entry!r}")
            if entry[0] == "spark.authenticate.secret":
                raise ValueError("spark conf must not hold spark.authenticate.secret: put it in the auth_secret_file")

    @property
    def is_local(self) -> bool:
        return self.master.startswith("local")


@dataclasses.dataclass(frozen=True, slots=True)
class RayService:
    """The Ray that training and the Ray task runner use: a cluster's address, or a local Ray started for the run.

    Ray's token authentication is always on (``pipeline.services.ray_token``). The token is read from
    ``token_file``, else ``$RAY_AUTH_TOKEN`` / ``$RAY_AUTH_TOKEN_PATH``, else Ray's ``~/.ray/auth_token``; a
    local Ray makes that file (mode 0600) when it is missing, a cluster's token must be there.
    """

    address: str | None = setting(None, help="a Ray cluster (ray://HOST:10001 or HOST:6379); none: a local Ray")
    token_file: Path | None = setting(
        None, help="the Ray token's file (mode 0600); none: $RAY_AUTH_TOKEN_PATH, else ~/.ray/auth_token"
    )

    def __post_init__(self) -> None:
        if self.address is not None and (not isinstance(self.address, str) or not self.address.strip()):
            raise ValueError(f"ray address must be HOST:PORT or ray://HOST:PORT (or unset), got {self.address!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class MlflowService:
    """The MLflow store that training, evaluation, the comparison and the report log to.

    A tracking server's credentials come from the environment (``MLFLOW_TRACKING_USERNAME``,
    ``MLFLOW_TRACKING_PASSWORD``, as every MLflow client reads them), never from the run config.
    """

    tracking_uri: str | None = setting(
        None, help="MLflow tracking URI; none: $MLFLOW_TRACKING_URI, else sqlite DATA_ROOT/mlflow.db"
    )
    experiment: str = setting("webtext", help="MLflow experiment shared by train, evaluate, compare and the report")

    def __post_init__(self) -> None:
        if not isinstance(self.experiment, str) or not self.experiment.strip():
            raise ValueError("mlflow experiment must be a non-empty MLflow experiment name")


@dataclasses.dataclass(frozen=True, slots=True)
class TaskRunnerService:
    """Where the flow's mapped per-shard tasks (extract, filter, tokenize) run: Prefect's process pool on this
    machine (the default), its thread pool, or Ray (``services.ray``) through prefect-ray's ``RayTaskRunner``."""

    kind: str = setting("process", choices=TASK_RUNNERS, help="process, thread, or ray (on services.ray)")
    max_workers: int | None = setting(None, help="process/thread: tasks at once (default: CPUs)")
    ray_init: dict[str, Any] = setting(factory=dict, help="ray only: extra ray.init arguments (num_cpus: 4, ...)")

    def __post_init__(self) -> None:
        if self.kind not in TASK_RUNNERS:
            raise ValueError(f"task_runner kind must be one of {', '.join(TASK_RUNNERS)}, got {self.kind!r}")
        if self.max_workers is not None:
            check_range("task_runner max_workers", self.max_workers, 1, 100_000, integer=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Services:
    """Every service of a run, each named once: the flow's ``services:`` section."""

    ray: RayService = setting(factory=RayService, help="the Ray cluster (training, the Ray task runner)")
    spark: SparkConfig = setting(factory=SparkConfig, help="the Spark session (dedup, the Wikipedia join)")
    mlflow: MlflowService = setting(factory=MlflowService, help="the MLflow store (train, evaluate, compare, report)")
    task_runner: TaskRunnerService = setting(factory=TaskRunnerService, help="where the mapped per-shard tasks run")


# A stage config's service field -> where the run config sets it (services.<path>), the one rule for every stage.
SERVICE_FIELDS = {
    "spark": "spark",
    "ray_address": "ray.address",
    "ray_token_file": "ray.token_file",
    "mlflow_tracking_uri": "mlflow.tracking_uri",
    "experiment": "mlflow.experiment",
}


def service_fields(cls: type) -> dict[str, str]:
    """``cls``'s service fields → their setting in the run config (``services.ray.address``)."""
    names = {field.name for field in dataclasses.fields(cls)}
    return {name: f"services.{path}" for name, path in SERVICE_FIELDS.items() if name in names}


def service_value(services: Services, path: str) -> Any:
    """The value at ``path`` (``ray.address``) of ``services``."""
    value: Any = services
    for part in path.split("."):
        value = getattr(value, part)
    return value


def with_services(cfg: Any, services: Services) -> Any:
    """Stage config ``cfg`` with its service fields set from ``services``."""
    values = {name: service_value(services, SERVICE_FIELDS[name]) for name in service_fields(type(cfg))}
    return dataclasses.replace(cfg, **values) if values else cfg
