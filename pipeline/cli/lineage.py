"""``webtext lineage RUN_ID``: the data and code behind an MLflow training or evaluation run."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "lineage",
        help="trace an MLflow training or evaluation run back to its tokens, corpus version, inputs and code",
        description="Print the chain behind RUN_ID: the evaluation run, the training run it is nested under, the "
        "tokens folder (checked against the manifest hash the run recorded), and the corpus version manifest "
        "(input dumps with sha256, code version, counts per stage).",
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="an MLflow run id (the MLflow UI shows it on the run page)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--mlflow-tracking-uri", default=None, help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI)"
    )
    where.add_argument("--data-root", type=Path, default=None, help="a flow's data root: its mlflow.db")
    parser.set_defaults(handler=_lineage)


def _lineage(args: argparse.Namespace) -> int:
    from evaluation.lineage import format_lineage, lineage
    from training.tracking import MLFLOW_DB

    if args.data_root is not None:
        uri = f"sqlite:///{(args.data_root / MLFLOW_DB).resolve()}"
    else:
        uri = args.mlflow_tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ValueError("no MLflow store: pass --data-root (e.g. build/sample-run) or --mlflow-tracking-uri")
    print(format_lineage(lineage(uri, args.run_id)), end="")
    return 0
