"""``make cluster-demo``: the ``webtext-build`` deployment, on the cluster's ``webtext`` work pool, run once.

The deployment is the one ``prefect.yaml`` defines (entrypoint, concurrency limit, tags), registered for
the cluster's process worker with the cluster's run config (``build/cluster/run.yaml``) and without the
nightly schedule: on this cluster it runs on demand. The run goes through the Prefect server like any
``prefect deployment run``; the command fails unless the flow run completes.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.cluster.outputs import REPO_ROOT
from infra.cluster.supervisor import ClusterError

POOL = "webtext"
RUN_TIMEOUT_S = 3600
WORKER_LOG_LINES = 80


def cluster_environment(state: dict[str, Any]) -> dict[str, str]:
    """This process's environment with the cluster's addresses and credentials (cluster.env's values)."""
    values = {}
    for line in Path(state["env_file"]).read_text(encoding="utf-8").splitlines():
        _, assignment = shlex.split(line)  # export NAME='value'
        name, _, value = assignment.partition("=")
        values[name] = value
    return {**os.environ, **values}


def deploy(state: dict[str, Any]) -> str:
    """Register ``webtext-build`` for the ``webtext`` pool with the cluster's run config; returns its name.

    In a process of its own with the cluster's environment: Prefect reads its API settings once, on import."""
    command = [sys.executable, "-m", "infra.cluster.demo", state["run_config"]]
    result = subprocess.run(command, env=cluster_environment(state), cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise ClusterError(f"deploying webtext-build failed:\n{result.stderr[-3000:]}")
    return result.stdout.strip().splitlines()[-1]


def module_entrypoint(entrypoint: str) -> str:
    """``flows/webtext.py:webtext`` as Prefect's module form, ``flows.webtext.webtext``. Loaded from its path, the
    flow's module would be ``webtext``, a name no Ray worker can import when it unpickles a mapped task's context;
    by module name it is ``flows.webtext``, which every node of the cluster has."""
    path, _, name = entrypoint.rpartition(":")
    return f"{path.removesuffix('.py').replace('/', '.')}.{name}"


def register_deployment(run_config: str) -> str:
    """The deployment of ``prefect.yaml`` for the ``webtext`` pool, on the Prefect API of this environment."""
    from flows.serve import DEPLOYMENT, concurrency_limit, deployment_spec
    from flows.webtext import webtext

    spec = deployment_spec()
    source = webtext.from_source(source=str(REPO_ROOT), entrypoint=module_entrypoint(spec["entrypoint"]))
    source.deploy(
        name=DEPLOYMENT,
        work_pool_name=POOL,
        parameters={"config_path": run_config},
        concurrency_limit=concurrency_limit(spec),
        description=spec.get("description"),
        tags=spec.get("tags"),
        version=spec.get("version"),
        build=False,
        push=False,
        print_next_steps=False,
    )
    return f"webtext/{DEPLOYMENT}"


def run_deployment(state: dict[str, Any], name: str) -> None:
    """``prefect deployment run NAME --watch`` against the cluster; a run that does not complete is an error."""
    prefect = str(Path(sys.executable).with_name("prefect"))
    command = [prefect, "deployment", "run", name, "-p", f"config_path={state['run_config']}", "--watch"]
    result = subprocess.run(command, env=cluster_environment(state), cwd=REPO_ROOT, timeout=RUN_TIMEOUT_S)
    if result.returncode != 0:
        logs = Path(state["env_file"]).parent / "logs"
        raise ClusterError(
            f"the flow run of {name} did not complete (its logs: the Prefect UI; the services': {logs}); "
            f"the end of its worker's log:\n{worker_log_tail(logs)}{ray_client_log_tail(state)}"
        )


def log_tails(logs: list[Path], lines: int = WORKER_LOG_LINES) -> list[str]:
    """The last ``lines`` of each of ``logs``, under its name."""
    tails = []
    for log in logs:
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        tails.append(f"--- {log.name} ---\n" + "\n".join(text))
    return tails


def worker_log_tail(logs: Path, lines: int = WORKER_LOG_LINES) -> str:
    """The last ``lines`` of the Prefect worker's log: the flow run's own output, its traceback included, which is
    gone with the cluster's folder once a test tears it down."""
    tails = log_tails(sorted(logs.glob("prefect-worker*.log")), lines)
    return "\n".join(tails) or f"(no prefect-worker*.log in {logs})"


def ray_client_log_tail(state: dict[str, Any], lines: int = WORKER_LOG_LINES) -> str:
    """The last ``lines`` of each Ray Client server's error log on the head, where a flow run that could not
    connect (``Starting Ray client server failed``) has its cause; empty when there is none to show."""
    temp_dir = state.get("ray", {}).get("temp_dir")
    if not temp_dir:
        return ""
    errors = sorted(Path(temp_dir).glob("ray/session_*/logs/ray_client_server*.err"))
    logs = [log for log in errors if log.stat().st_size]
    return "".join("\n" + tail for tail in log_tails(logs, lines))


if __name__ == "__main__":
    print(register_deployment(sys.argv[1]))
