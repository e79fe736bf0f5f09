"""Which MLflow store a command reads: ``--mlflow-tracking-uri``, ``--data-root`` (a flow's ``mlflow.db``) or
``$MLFLOW_TRACKING_URI``; shared by ``webtext compare`` and ``webtext lineage``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--mlflow-tracking-uri", default=None, help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI)"
    )
    where.add_argument("--data-root", type=Path, default=None, help="a flow's data root: its mlflow.db")


def store_uri(args: argparse.Namespace) -> str:
    """The store's URI; no store named anywhere is an error saying how to name one."""
    from pipeline.tracking import MLFLOW_DB

    if args.data_root is not None:
        return f"sqlite:///{(args.data_root / MLFLOW_DB).resolve()}"
    uri = args.mlflow_tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ValueError("no MLflow store: pass --data-root (e.g. build/sample-run) or --mlflow-tracking-uri")
    return uri
