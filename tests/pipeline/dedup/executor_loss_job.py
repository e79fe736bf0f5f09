"""The dedup stage on a ``local-cluster[2,1,1024]`` master, with executor JVMs killed in the middle of the run.

Run by ``test_executor_loss.py`` in a process of its own (a fresh JVM whose environment pins Spark to
127.0.0.1 and its work folder to a temporary SPARK_HOME)::

    python executor_loss_job.py DOCS_DIR OUT_DIR REPORT_JSON [--local-checkpoints]

Two executors are SIGKILLed, the way a lost machine looks to Spark:

1. the one running the first signatures task, from inside that task's Python worker while it
   sketches (the signatures job loses a running task and the map output of that executor);
2. one of the live executors when the second connected-components round is planned, from the
   driver, so that round must reread the first round's checkpoint after its executor is gone.

``--local-checkpoints`` forces ``localCheckpoint`` on this cluster, to show the second kill is
fatal without reliable checkpoints. The report lists the kills and the outcome.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from py4j.protocol import Py4JError
from pyspark import TaskContext
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

import pipeline.dedup.spark.components as components
import pipeline.dedup.spark.signatures as signatures
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.spark.checkpoints import Checkpoints
from pipeline.dedup.stage import run_dedup

EXECUTOR_CLASS = "org.apache.spark.executor.CoarseGrainedExecutorBackend"
CONFIG = DedupConfig(bands=20, rows=6, engine="spark")  # the same as the in-process reference run


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def executor_ancestor() -> int:
    """The executor JVM that (through pyspark's daemon) started this Python worker."""
    pid = os.getpid()
    while pid > 1:
        pid = parent_of(pid)
        if EXECUTOR_CLASS in command_line(pid):
            return pid
    raise RuntimeError("this Python worker has no executor JVM among its ancestors")


def live_executors(app_id: str) -> dict[str, int]:
    """Executor id -> pid of this application's executor JVMs."""
    found = {}
    for entry in Path("/proc").iterdir():
        arguments = command_line(int(entry.name)) if entry.name.isdigit() else []
        if EXECUTOR_CLASS in arguments and app_id in arguments:
            found[arguments[arguments.index("--executor-id") + 1]] = int(entry.name)
    return found


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    while Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]:
        time.sleep(0.05)


def kill_during_first_sketch(marker: Path) -> None:
    """Replace the signatures' sketcher: the first task to start kills its own executor, then waits to die."""
    original = signatures._sketch_batches

    def sketch_or_die(batches, **settings):
        try:
            descriptor = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:  # already done: every other task, and the retry of the killed one
            yield from original(batches, **settings)
            return
        context = TaskContext.get()
        os.write(descriptor, json.dumps({"partition": context.partitionId(), "stage": context.stageId()}).encode())
        os.close(descriptor)
        os.kill(executor_ancestor(), signal.SIGKILL)
        time.sleep(120)  # this worker goes with its executor
        raise RuntimeError("the executor survived SIGKILL")

    signatures._sketch_batches = sketch_or_die


def kill_before_second_round(spark: SparkSession, kills: list[dict]) -> None:
    """Replace ``small_star``: planning round 2 first kills a live executor (round 1 is checkpointed)."""
    original, calls = components.small_star, []

    def small_star(edges):
        calls.append(1)
        if len(calls) == 2:
            executors = live_executors(spark.sparkContext.applicationId)
            victim = min(executors)
            kill(executors[victim])
            kills.append({"when": "before components round 2", "executor": victim, "alive_before": sorted(executors)})
        return original(edges)

    components.small_star = small_star


def session() -> SparkSession:
    return (
        SparkSession.builder.master("local-cluster[2,1,1024]")
        .appName("webtext-dedup-executor-loss")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "2")
        .config("spark.sql.parquet.compression.codec", "zstd")
        .getOrCreate()
    )


def main(docs: Path, out: Path, report: Path, local_checkpoints: bool) -> None:
    spark = session()
    spark.sparkContext.setLogLevel("ERROR")
    kills: list[dict] = []
    marker = out.parent / "sketch-kill.json"
    kill_during_first_sketch(marker)
    kill_before_second_round(spark, kills)
    if local_checkpoints:
        Checkpoints.__init__ = _local_only(Checkpoints.__init__)
    outcome: dict = {"master": spark.sparkContext.master}
    try:
        summary = run_dedup(docs, out, CONFIG, spark=spark)
        outcome |= {"ok": True, "outcomes": summary.outcomes, "counts": summary.counts}
    except (PySparkException, Py4JError) as error:  # the report carries Spark's failure to the test
        outcome |= {"ok": False, "error": f"{type(error).__name__}: {error}"[:4000]}
    finally:
        spark.stop()
    sketch_kill = json.loads(marker.read_text()) if marker.exists() else None
    kills.insert(0, {"when": "first signatures task", **sketch_kill} if sketch_kill else {})
    report.write_text(json.dumps(outcome | {"kills": kills}, indent=2))


def _local_only(init):
    def local_init(self, spark, configured=None, default=None):
        init(self, spark, configured, default)
        self.reliable, self.directory = False, None

    return local_init


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), "--local-checkpoints" in sys.argv[4:])
