"""What ``make cluster`` hands its users: ``cluster.env`` (the services' addresses and credentials, for a shell
or a client) and ``run.yaml`` (the demo's run config pointing at those services).

``cluster.env`` holds secrets, so it is written mode 0600 from the first byte. ``run.yaml`` holds none:
it names the secret files (Ray's token, Spark's secret), and MLflow's and Prefect's credentials reach
the flow through the worker's environment.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from flows.demo import SHARED_EVAL

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = "cluster.env"
RUN_CONFIG = "run.yaml"
SAMPLE_CONFIG = REPO_ROOT / "flows" / "configs" / "sample.yaml"
CLUSTER_DATA_ROOT = REPO_ROOT / "build" / "cluster-run"


def write_env_file(root: Path, values: Mapping[str, str]) -> Path:
    """``root/cluster.env``: ``export NAME='value'`` lines, mode 0600 (it holds passwords)."""
    path = root / ENV_FILE
    text = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in values.items())
    temporary = root / f".{ENV_FILE}.tmp"
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    temporary.replace(path)
    return path


@dataclasses.dataclass(frozen=True, slots=True)
class RunSpec:
    """Where the cluster's run writes (one path every host shares) and what it changes of the demo's config."""

    data_root: Path = CLUSTER_DATA_ROOT
    sample_dir: Path | None = None  # None: the demo's, build/sample
    overrides: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)  # section -> settings


# make cluster's run: build/cluster-run, with make demo's sample and settings unchanged (so the same shards, byte for
# byte; the demo's pages come in shards of 12, which gives the mapped stages several shards to spread over the nodes)
DEMO_RUN = RunSpec()


def run_config(services: Mapping[str, Any], spec: RunSpec = DEMO_RUN) -> dict[str, Any]:
    """The demo's run config (flows/configs/sample.yaml: the same sample, stages and models) on the cluster's
    services, into ``spec.data_root``, evaluating what ``make demo`` evaluates."""
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    if spec.sample_dir is not None:
        text = text.replace("build/sample", str(spec.sample_dir))
    config = yaml.safe_load(text)
    config["data_root"] = str(spec.data_root)
    config["services"] = dict(services)
    evaluate_dir = os.environ.get("WEBTEXT_EVAL_DIR") or (str(SHARED_EVAL) if SHARED_EVAL.is_dir() else None)
    if evaluate_dir:  # LAMBADA and WikiText-2, as make demo finds them; the sample's own set always
        config["evaluate"]["data_dir"] = evaluate_dir
    config["train"] |= {"workers": 2, "cpus_per_worker": 1}  # one Ray Train worker per node
    for section, settings in spec.overrides.items():
        config[section] = {**config.get(section, {}), **settings}
    return config


def write_run_config(root: Path, services: Mapping[str, Any], spec: RunSpec = DEMO_RUN) -> Path:
    path = root / RUN_CONFIG
    header = "# Written by `make cluster`: the demo's run (flows/configs/sample.yaml) on this cluster's services.\n"
    path.write_text(header + yaml.safe_dump(run_config(services, spec), sort_keys=False), encoding="utf-8")
    return path
