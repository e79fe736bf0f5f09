"""Cutting a DataFrame's lineage between steps, and releasing what earlier steps kept.

The clustering materialises each step (and each connected-components round) so the next
one plans a short query. Under a ``local`` master the executors live in the driver's JVM,
so ``localCheckpoint`` (blocks in executor storage) is exactly as safe as the run itself,
and fastest. On a cluster an executor can be lost, and its blocks with it, which fails the
job ("Checkpoint block not found"); there ``checkpoint()`` writes each step to a reliable
folder that any executor can reread, so Spark recomputes only the lost tasks.

A step's data is released as soon as nothing needs it any more: local blocks are
unpersisted, reliable files deleted, so a components loop holds two rounds at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Self

from pyspark.sql import DataFrame, SparkSession

LOCAL_MASTER = re.compile(r"^local(\[[^\]]*\])?$")  # local, local[N], local[*], local[N,F]; not local-cluster


def is_local_master(master: str) -> bool:
    """True when every executor runs inside the driver's JVM (nothing can be lost without losing the run)."""
    return bool(LOCAL_MASTER.match(master))


class Checkpoints:
    """Checkpoints of one run: local ones under a local master without ``configured``, reliable ones otherwise.

    ``configured`` is the user's folder (any Hadoop URI); ``default`` the one used when a reliable
    folder is needed and none was given. ``close`` releases everything still held and deletes the
    folder Spark made for this run inside it.
    """

    def __init__(self, spark: SparkSession, configured: str | None = None, default: str | None = None) -> None:
        self._context = spark.sparkContext
        self.reliable = configured is not None or not is_local_master(self._context.master)
        self._held: dict[int, tuple[DataFrame, Any]] = {}  # id(frame) -> (frame, its checkpointed JVM RDD)
        if self.reliable:
            folder = configured or default
            if not folder:
                raise ValueError(f"master {self._context.master} needs a checkpoint folder every executor reaches")
            self._context.setCheckpointDir(folder)
        self.directory = self._context.getCheckpointDir() if self.reliable else None  # <folder>/<uuid>

    def __call__(self, frame: DataFrame) -> DataFrame:
        """``frame`` materialised now, with a lineage that starts at the checkpoint."""
        kept = frame.checkpoint(eager=True) if self.reliable else frame.localCheckpoint(eager=True)
        # Dataset.checkpoint returns a LogicalRDD over the checkpointed RDD: keep a handle to release it
        self._held[id(kept)] = (kept, kept._jdf.queryExecution().logical().rdd())
        return kept

    def release(self, *frames: DataFrame) -> None:
        """Free the storage of ``frames`` (checkpoints of this object); nothing may read them afterwards."""
        for frame in frames:
            held = self._held.pop(id(frame), None)
            if held is not None:
                self._drop(held[1])

    def release_all(self, keep: Iterable[DataFrame] = ()) -> None:
        """Free every checkpoint still held except ``keep``."""
        kept = {id(frame) for frame in keep}
        self.release(*[frame for key, (frame, _) in list(self._held.items()) if key not in kept])

    def close(self) -> None:
        """Release everything and remove this run's checkpoint folder."""
        self.release_all()
        if self.directory is not None:
            self._delete(self.directory)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:  # after a failure the JVM may be gone: the next run clears the default folder
            self.close()

    def _drop(self, rdd: Any) -> None:
        checkpoint_file = rdd.getCheckpointFile()
        if checkpoint_file.isDefined():
            self._delete(checkpoint_file.get())
        rdd.unpersist(False)  # a local checkpoint's blocks

    def _delete(self, uri: str) -> None:
        """Delete ``uri`` recursively through Hadoop's FileSystem, so hdfs:// and s3a:// work as file: does."""
        jvm = self._context._jvm
        path = jvm.org.apache.hadoop.fs.Path(uri)
        path.getFileSystem(self._context._jsc.hadoopConfiguration()).delete(path, True)
