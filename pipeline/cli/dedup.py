"""``webtext dedup``: exact and MinHash-LSH near-duplicate removal, run in Spark."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import REPLACE_HELP, print_summary
from pipeline.dedup.config import DedupConfig
from pipeline.settings import add_config_arguments, config_from_arguments


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "dedup",
        help="remove exact and near-duplicate documents (MinHash-LSH in Spark)",
        description="Cluster the documents of DOCS_DIR by exact text and by MinHash-LSH over word 5-grams, "
        "keep the best of each cluster (karma, then first seen, then id) and write the rest to "
        "OUT/rejected/dedup/<reason>/; OUT/duplicates/ lists every cluster member.",
    )
    parser.add_argument("docs_dir", type=Path, metavar="DOCS_DIR", help="Document shards (output of `webtext extract`)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--against", type=Path, default=None, help="an earlier dedup OUT: drop what it already has")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--replace", action="store_true", help=REPLACE_HELP)
    add_config_arguments(parser, DedupConfig)
    parser.set_defaults(handler=_dedup)


def _dedup(args: argparse.Namespace) -> int:
    from pipeline.dedup.stage import run_dedup
    from pipeline.progress import no_progress, terminal_progress

    cfg = config_from_arguments(DedupConfig, args)
    progress = no_progress if args.quiet else terminal_progress
    summary = run_dedup(args.docs_dir, args.out, cfg, against=args.against, progress=progress, replace=args.replace)
    print_summary(summary, outcome_label="rejected ")
    clusters = summary.details["clusters"]
    print(f"  LSH: {clusters['bands']} bands x {clusters['rows']} rows")
    print(f"duplicates: {args.out / 'duplicates'}; rejects: {args.out / 'rejected' / 'dedup'}")
    return 0
