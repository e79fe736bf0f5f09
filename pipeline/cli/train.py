"""``webtext train``: a GPT-2-family model on a tokens folder, with Ray Train, tracked in MLflow, exported."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import print_summary
from pipeline.settings import add_config_arguments, config_from_arguments
from training.config import TrainConfig


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a GPT-2 model (tiny ... 1558M) on token shards with Ray Train; MLflow tracking; HF export",
        description="Train a GPT-2-family model on TOKENS_DIR (output of `webtext tokenize`) with Ray Train: local "
        "Ray by default, a cluster with --ray-address; DDP or FSDP2; checkpoints in OUT/checkpoints/ (a rerun "
        "resumes from the latest), the final model as a Hugging Face folder in OUT/hf/, metrics in MLflow.",
    )
    parser.add_argument("tokens_dir", type=Path, metavar="TOKENS_DIR", help="a tokens folder (`webtext tokenize`)")
    parser.add_argument("--out", type=Path, required=True, help="the run folder")
    parser.add_argument("--run-name", default=None, help="MLflow run name (default: train-<model>)")
    add_config_arguments(parser, TrainConfig)
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from training.run import run_training

    summary = run_training(args.tokens_dir, args.out, config_from_arguments(TrainConfig, args), args.run_name)
    print_summary(summary)
    details = summary.details
    print(
        f"  train loss {details['first_train_loss']:.3f} -> {details['train_loss']:.3f}"
        + (f", val loss {details['val_loss']:.3f}" if details["val_loss"] is not None else "")
    )
    print(f"  MLflow run {details['mlflow_run_id']} at {details['mlflow_tracking_uri']}; export {details['hf']}")
    return 0
