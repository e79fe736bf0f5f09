"""Serve the ``webtext-build`` deployment with ``flow.serve``, as ``prefect.yaml`` defines it.

Serving needs no work pool or worker: this process registers the deployment (with its
nightly schedule) on the Prefect API and runs every flow run of it, scheduled or
triggered with ``prefect deployment run webtext/webtext-build``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from prefect.client.schemas.objects import ConcurrencyLimitConfig
from prefect.schedules import Cron

from flows.webtext import webtext

PROJECT_FILE = Path(__file__).resolve().parent.parent / "prefect.yaml"
DEPLOYMENT = "webtext-build"


def deployment_spec(name: str = DEPLOYMENT, project_file: Path = PROJECT_FILE) -> dict[str, Any]:
    """The deployment entry called ``name`` in ``prefect.yaml``."""
    project = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    for deployment in project.get("deployments", []):
        if deployment.get("name") == name:
            return deployment
    raise KeyError(f"{project_file}: no deployment named {name!r}")


def concurrency_limit(spec: dict[str, Any]) -> ConcurrencyLimitConfig | int | None:
    """The deployment's ``concurrency_limit`` (an int, or a mapping with ``limit`` and ``collision_strategy``)."""
    limit = spec.get("concurrency_limit")
    return ConcurrencyLimitConfig(**limit) if isinstance(limit, dict) else limit


def serve(name: str = DEPLOYMENT, parameters: dict[str, Any] | None = None) -> None:
    spec = deployment_spec(name)
    schedules = [
        Cron(schedule["cron"], timezone=schedule.get("timezone", "UTC"))
        for schedule in spec.get("schedules", [])
        if schedule.get("active", True)
    ]
    webtext.serve(
        name=name,
        schedules=schedules or None,
        global_limit=concurrency_limit(spec),
        parameters={**spec.get("parameters", {}), **(parameters or {})},
        description=spec.get("description"),
        tags=spec.get("tags"),
        version=spec.get("version"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the webtext-build deployment on the Prefect API.")
    parser.add_argument("--config", help="run config YAML the deployment runs by default")
    args = parser.parse_args(argv)
    serve(parameters={"config_path": args.config} if args.config else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
