"""``webtext evaluate`` (a model on the GPT-2 paper's zero-shot tasks) and ``webtext compare`` (the size table)."""

from __future__ import annotations

import argparse
from pathlib import Path

from evaluation.config import EvalConfig
from pipeline.cli.mlflow_store import add_store_arguments, store_uri
from pipeline.cli.report import print_summary
from pipeline.settings import add_config_arguments, config_from_arguments


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="zero-shot LAMBADA, WikiText, PTB, enwik8/text8, CBT as in the GPT-2 paper; metrics to MLflow",
        description="Evaluate MODEL (a training run folder or checkpoint, an exported Hugging Face folder, or an "
        "MLflow run id) on the GPT-2 paper's zero-shot tasks, with lm-evaluation-harness's definitions. Each task's "
        "metrics go to an MLflow run, nested under the model's training run, as soon as the task finishes.",
    )
    parser.add_argument("model", metavar="MODEL", help="run folder, checkpoint, HF folder or MLflow run id")
    parser.add_argument("--out", type=Path, default=None, help="where eval_summary.json goes (default: the run)")
    add_config_arguments(parser, EvalConfig)
    parser.set_defaults(handler=_evaluate)
    compare = commands.add_parser(
        "compare",
        help="the GPT-2 paper's model-size table for an MLflow experiment: Markdown, CSV and a plot",
        description="Read the latest evaluation of each model size in the experiment and write the paper-style table "
        "(rows: sizes with parameter counts; columns: tasks; the paper's numbers below as reference) as "
        "comparison.md and comparison.csv, and comparison.png (each metric against parameters); log them to MLflow.",
    )
    compare.add_argument("--experiment", default="webtext", help="MLflow experiment (default: webtext)")
    add_store_arguments(compare)
    compare.add_argument("--out", type=Path, default=Path("comparison"), help="folder for the table and plot")
    compare.set_defaults(handler=_compare)


def _evaluate(args: argparse.Namespace) -> int:
    from evaluation.run import run_evaluation

    summary = run_evaluation(args.model, config_from_arguments(EvalConfig, args), out_dir=args.out)
    print_summary(summary)
    for name, value in summary.details["metrics"].items():
        print(f"  {name:<24} {value:>12.4f}")
    print(f"  MLflow run {summary.details['mlflow_run_id']} at {summary.details['mlflow_tracking_uri']}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from evaluation.compare import compare_models

    result = compare_models(store_uri(args), args.experiment, args.out)
    print(result["table"], end="")
    print(f"written to {result['out_dir']} (comparison.md, .csv, .png); MLflow run {result['mlflow_run_id']}")
    return 0
