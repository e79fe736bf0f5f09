"""The task runner of the flow's mapped per-shard tasks, chosen by the run config's ``services.task_runner``.

Prefect's ``ProcessPoolTaskRunner`` (one machine, every core), its ``ThreadPoolTaskRunner``, or
prefect-ray's ``RayTaskRunner`` (the Ray of ``services.ray``: a cluster, or a local Ray it starts, with
Ray's token authentication on either way). Every mapped
task is ``job(shared, *arguments)`` of a stage's ``ShardedRun``: small, picklable, and writing its shard
under the shared data root itself, so any of them runs anywhere that sees the data root's path.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from pipeline.services.config import Services
from pipeline.services.preflight import ray_address
from pipeline.services.ray_token import enable_ray_token
from pipeline.stage import ShardedRun

# A Ray Client connection that the cluster's head refuses at start (its per-client server exited while starting,
# a transient we have seen under load) is asked again, a few times, before the stage fails.
RAY_CONNECT_ATTEMPTS = 3
RAY_CONNECT_BACKOFF_S = 5.0


def make_task_runner(services: Services) -> TaskRunner:
    """A fresh (not yet started) task runner for ``services.task_runner``."""
    settings = services.task_runner
    if settings.kind == "ray":
        address = ray_address(services.ray.address)
        enable_ray_token(services.ray.token_file, create=address is None)  # before prefect-ray imports Ray
        from prefect_ray.task_runners import RayTaskRunner

        # no address: a local Ray of the run's own ("local"), never a cluster Ray happens to find on this machine
        return RayTaskRunner(address=address or "local", init_kwargs=dict(settings.ray_init))
    if settings.kind == "thread":
        return ThreadPoolTaskRunner(max_workers=settings.max_workers)
    return ProcessPoolTaskRunner(max_workers=settings.max_workers)


@task(name="shard", cache_policy=NO_CACHE)
def process_shard(function: Any, shared: Any, job: tuple[Any, ...]) -> Any:
    """One unit of a per-shard stage (wherever the task runner put it)."""
    return function(shared, *job)


class ShardTasks(contextlib.ExitStack):
    """The flow's per-shard task runner, started on first use and kept until the ``with`` block ends (a Ray cluster
    is connected to once, a process pool's workers start once)."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self._runner: TaskRunner | None = None

    def run(self, sharded: ShardedRun) -> list[Any]:
        """Every job of ``sharded`` as one mapped task each; results in job order (a failed job raises)."""
        if not sharded.jobs:
            return []
        if self._runner is None:
            self._runner = self._start_runner()
        shard_task = process_shard.with_options(name=f"{sharded.stage}_shard")
        futures = [
            self._runner.submit(
                shard_task.with_options(task_run_name=f"{sharded.stage}-{_job_name(job, position)}"),
                {"function": sharded.function, "shared": sharded.shared, "job": job},
            )
            for position, job in enumerate(sharded.jobs)
        ]
        return [future.result() for future in futures]

    def _start_runner(self) -> TaskRunner:
        """The task runner, started; a refused Ray connection is retried (``RAY_CONNECT_ATTEMPTS``)."""
        for attempt in range(1, RAY_CONNECT_ATTEMPTS + 1):
            try:
                return self.enter_context(make_task_runner(self.services))  # a failed start registers nothing
            except ConnectionError as error:
                if self.services.task_runner.kind != "ray" or attempt == RAY_CONNECT_ATTEMPTS:
                    raise
                delay = RAY_CONNECT_BACKOFF_S * attempt
                _logger().warning(
                    "connecting to Ray failed (attempt %d of %d): %s; trying again in %.0f s",
                    attempt,
                    RAY_CONNECT_ATTEMPTS,
                    str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__,
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The flow run's logger (its lines reach the Prefect UI), or this module's outside a flow run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def _job_name(job: tuple[Any, ...], position: int) -> str:
    """The shard a job reads (its first path argument), for the task run's name in the UI."""
    first = next((part for part in job if isinstance(part, Path)), None)
    return first.name.removesuffix(".parquet") if first is not None else str(position)
