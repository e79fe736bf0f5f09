"""``webtext lineage RUN_ID``: the data and code behind an MLflow training or evaluation run."""

from __future__ import annotations

import argparse

from pipeline.cli.mlflow_store import add_store_arguments, store_uri


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "lineage",
        help="trace an MLflow training or evaluation run back to its tokens, corpus version, inputs and code",
        description="Print the chain behind RUN_ID: the evaluation run, the training run it is nested under, the "
        "tokens folder (checked against the manifest hash the run recorded), and the corpus version manifest "
        "(input dumps with sha256, code version, counts per stage).",
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="an MLflow run id (the MLflow UI shows it on the run page)")
    add_store_arguments(parser)
    parser.set_defaults(handler=_lineage)


def _lineage(args: argparse.Namespace) -> int:
    from pipeline.lineage_trace import format_lineage, lineage

    print(format_lineage(lineage(store_uri(args), args.run_id)), end="")
    return 0
