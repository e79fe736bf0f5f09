"""The README's demo: run the whole DAG on the bundled sample through a real local Prefect server.

If ``PREFECT_API_URL`` points at a healthy server (say, one you started with
``prefect server start``), the run is reported there and stays visible in its UI.
Otherwise a server on SQLite is started for the run and stopped after it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from flows.local_server import is_healthy, local_prefect_server
from flows.webtext import DEFAULT_CONFIG

SHARED_EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"


def run_flow(config: str, api_url: str) -> int:
    """Run the flow in a child process that reports to ``api_url``. The real evaluation sets are used when they are
    there: ``WEBTEXT_EVAL_DIR``, else ``../shared/data/eval`` beside the repository; the run evaluates on them and,
    by the same lookup (``decontaminate.evaluated_sets``), cuts them from its corpus."""
    env = {**os.environ, "PREFECT_API_URL": api_url}
    if not env.get("WEBTEXT_EVAL_DIR") and SHARED_EVAL.is_dir():
        env["WEBTEXT_EVAL_DIR"] = str(SHARED_EVAL)
    command = [sys.executable, "-m", "flows.webtext", "--config", config]
    return subprocess.call(command, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="run config YAML")
    args = parser.parse_args(argv)
    api_url = os.environ.get("PREFECT_API_URL", "")
    if api_url and is_healthy(api_url):
        print(f"demo: using the Prefect server at {api_url}")
        return run_flow(args.config, api_url)
    log_path = Path("build/prefect-server.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"demo: starting a local Prefect server (SQLite); its log is {log_path}")
    with local_prefect_server(log_path=log_path) as api_url:
        print(f"demo: Prefect server up at {api_url}")
        status = run_flow(args.config, api_url)
    print("demo: done; to browse runs, start `prefect server start` and set PREFECT_API_URL before the demo")
    return status


if __name__ == "__main__":
    sys.exit(main())
