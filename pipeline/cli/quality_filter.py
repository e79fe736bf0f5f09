"""``webtext filter`` (language ID, Gopher rules, quality selection) and ``webtext quality train``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import REPLACE_HELP, print_summary
from pipeline.filter.config import FilterConfig, QualityTrainConfig
from pipeline.settings import add_config_arguments, config_from_arguments


def register(commands: argparse._SubParsersAction) -> None:
    _register_filter(commands)
    _register_quality(commands)


def _register_filter(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "filter",
        help="keep documents in the wanted languages that pass the quality rules",
        description="Score every document of DOCS_DIR with fastText language ID (lid.176) and, if given, a quality "
        "classifier; keep those in --languages with score >= --min-language-score that pass the Gopher rules and "
        "the quality selection. Dropped documents go to OUT/rejected/filter/<reason>/.",
    )
    parser.add_argument("docs_dir", type=Path, metavar="DOCS_DIR", help="Document shards (output of `webtext dedup`)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--replace", action="store_true", help=REPLACE_HELP)
    add_config_arguments(parser, FilterConfig)
    parser.set_defaults(handler=_filter)


def _filter(args: argparse.Namespace) -> int:
    from pipeline.filter.stage import run_filter
    from pipeline.progress import no_progress, terminal_progress

    cfg = config_from_arguments(FilterConfig, args)
    progress = no_progress if args.quiet else terminal_progress
    summary = run_filter(args.docs_dir, args.out, cfg, progress=progress, replace=args.replace)
    print_summary(summary, outcome_label="rejected ")
    print(f"rejects: {args.out / 'rejected' / 'filter'}")
    return 0


def _register_quality(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("quality", help="the fastText quality classifier")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser(
        "train",
        help="train the quality classifier from karma-ranked documents or reference corpora",
        description="Positives: documents with karma >= --positive-min-karma (Document shard directories) or every "
        "text of a reference corpus (.jsonl with a 'text' field). Negatives: documents with karma below "
        "--negative-max-karma, or a random crawl. Balanced, deduplicated, split with --seed; writes "
        "OUT/quality.bin and OUT/quality.metrics.json (precision/recall/F1 on the held-out split).",
    )
    train.add_argument("--positives", type=Path, nargs="+", required=True, help="Document dirs or .jsonl files")
    train.add_argument("--negatives", type=Path, nargs="+", required=True, help="Document dirs or .jsonl files")
    train.add_argument("--out", type=Path, required=True, help="output directory for the model and its metrics")
    add_config_arguments(train, QualityTrainConfig)
    train.set_defaults(handler=_quality_train)


def _quality_train(args: argparse.Namespace) -> int:
    from pipeline.filter.quality_train import train_quality_model

    cfg = config_from_arguments(QualityTrainConfig, args)
    metrics = train_quality_model(args.positives, args.negatives, args.out, cfg)
    state = "unchanged (same data and parameters)" if metrics.reused else "trained"
    print(f"quality model {state}: {metrics.model}")
    print(
        f"  held-out: precision {metrics.precision:.3f}, recall {metrics.recall:.3f}, F1 {metrics.f1:.3f}, "
        f"accuracy {metrics.accuracy:.3f}; train {metrics.train_examples}, valid {metrics.valid_examples}"
    )
    if caveat := metrics.caveat():
        print(f"  warning: {caveat}")
    return 0
