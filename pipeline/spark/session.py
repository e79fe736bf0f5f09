"""The Spark session of the Spark jobs (dedup, decontaminate's Wikipedia join): ``local[*]`` by default, any
cluster by its master URL.

Python workers must run the interpreter that has this package and its dependencies, so
``PYSPARK_PYTHON`` defaults to the driver's own interpreter (on a cluster, set it to the
workers' interpreter in the environment, as Spark documents).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from pipeline.services.config import SparkConfig
from pipeline.spark.sizing import driver_memory, local_memory_conf

LOOPBACK = "127.0.0.1"
ARROW_RECORDS_PER_BATCH = 256  # documents per Arrow batch sent to a Python worker: long texts stay bounded
JVM_LAUNCH_TRIES = 3
JVM_RETRY_PAUSE_S = 5.0
log = logging.getLogger(__name__)


def build_session(cfg: SparkConfig, input_bytes: int | None = None) -> SparkSession:
    """A new (or the active) Spark session with ``cfg``'s settings; ``input_bytes`` (the job's uncompressed input)
    sizes a local session's memory when ``cfg.driver_memory`` is ``auto`` (``pipeline.spark.sizing``)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(cfg.master)
        .appName(cfg.app_name)
        .config("spark.driver.memory", driver_memory(cfg.driver_memory, cfg.is_local, input_bytes))
        .config("spark.sql.shuffle.partitions", str(cfg.shuffle_partitions))
        .config("spark.ui.enabled", str(cfg.ui_enabled).lower())
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_RECORDS_PER_BATCH))
        .config("spark.sql.parquet.compression.codec", "zstd")
    )
    if cfg.local_dir:
        builder = builder.config("spark.local.dir", cfg.local_dir)
    if cfg.is_local:  # one machine: listen on loopback only, not on the host's network address
        builder = builder.config("spark.driver.host", LOOPBACK).config("spark.driver.bindAddress", LOOPBACK)
        for key, value in local_memory_conf().items():
            builder = builder.config(key, value)
        # the web UI ignores bindAddress and binds 0.0.0.0 unless the JVM's environment has SPARK_LOCAL_IP; pyspark
        # hands os.environ to the JVM it launches (on the first session of this process, so before getOrCreate)
        os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    for key, value in cfg.conf:
        builder = builder.config(key, value)
    if cfg.auth_secret_file:  # a cluster with spark.authenticate: the secret from its file, never from a config
        secret = Path(cfg.auth_secret_file).expanduser().read_text(encoding="utf-8").strip()
        builder = builder.config("spark.authenticate", "true").config("spark.authenticate.secret", secret)
    session = _get_or_create(builder)
    session.sparkContext.setLogLevel("ERROR")
    return session


def _get_or_create(builder: SparkSession.Builder) -> SparkSession:
    """``builder.getOrCreate()``, trying again when the driver's JVM exits while it starts.

    That launch is a fork and an exec of ``spark-submit`` from a process that may be busy with other threads (a Ray
    client's, Prefect's), on a machine a cluster shares: a passing shortage (threads, memory) makes the JVM exit at
    once, and a stage of hours should not fail for it. A JVM that never starts fails after the last try, with
    spark-submit's own message above it on stderr.
    """
    for attempt in range(1, JVM_LAUNCH_TRIES):
        try:
            return builder.getOrCreate()
        except PySparkRuntimeError as error:
            if error.getCondition() != "JAVA_GATEWAY_EXITED":
                raise
            log.warning(
                "the Spark driver's JVM exited while starting (try %d of %d; spark-submit's message is on stderr); "
                "trying again in %.0f s",
                attempt,
                JVM_LAUNCH_TRIES,
                JVM_RETRY_PAUSE_S,
            )
            time.sleep(JVM_RETRY_PAUSE_S)
    return builder.getOrCreate()


class SharedSession:
    """One Spark session for several jobs (a flow run's dedup and Wikipedia join): built by the first job that
    needs one, sized to that job's input, and stopped by ``close`` (which the owner calls, also on failure).

    A session lives in its driver's process: share this object between threads of that process (``get`` is
    locked), never with another process (it refuses to be pickled; a job run elsewhere builds its own).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: SparkSession | None = None
        self._cfg: SparkConfig | None = None

    def get(self, cfg: SparkConfig, input_bytes: int | None = None) -> SparkSession:
        """The session, built from ``cfg`` on first use; a later ``cfg`` must name the same session."""
        with self._lock:
            if self._session is None:
                self._session, self._cfg = build_session(cfg, input_bytes), cfg
            elif cfg != self._cfg:
                raise ValueError(
                    f"a shared Spark session was built from {self._cfg}; a job asked for another one, {cfg}: "
                    "jobs that share a session must use the same spark settings"
                )
            return self._session

    @property
    def started(self) -> bool:
        return self._session is not None

    def close(self) -> None:
        """Stop the session if one was built (a later ``get`` builds a new one)."""
        with self._lock:
            if self._session is not None:
                self._session.stop()
                self._session = self._cfg = None

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a SharedSession holds a Spark session of this process and cannot be sent to another")


@contextlib.contextmanager
def spark_session(
    cfg: SparkConfig, existing: SparkSession | SharedSession | None = None, input_bytes: int | None = None
) -> Iterator[SparkSession]:
    """``existing`` if given (a test's session, or a flow run's shared one: left running), else a session for this
    job (sized to ``input_bytes`` under ``driver_memory: auto``), stopped on exit."""
    if isinstance(existing, SharedSession):
        yield existing.get(cfg, input_bytes)
        return
    if existing is not None:
        yield existing
        return
    session = build_session(cfg, input_bytes)
    try:
        yield session
    finally:
        session.stop()
