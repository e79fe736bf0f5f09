"""``webtext extract``: main text of every fetched page, as Document shards."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import REPLACE_HELP, print_summary
from pipeline.extract.config import ExtractConfig
from pipeline.settings import add_config_arguments, config_from_arguments


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "extract",
        help="main text of fetched pages (trafilatura or resiliparse) into Document shards",
        description="Read the WARC responses of a fetch directory and extract each page's main text. "
        "Pages that yield too little text are written to OUT/rejected/extract/<reason>/ with counts.",
    )
    parser.add_argument("fetch_dir", type=Path, metavar="PAGES_DIR", help="output directory of `webtext fetch`")
    parser.add_argument("--out", type=Path, required=True, help="output directory for Document shards")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--replace", action="store_true", help=REPLACE_HELP)
    add_config_arguments(parser, ExtractConfig)
    parser.set_defaults(handler=_extract)


def _extract(args: argparse.Namespace) -> int:
    from pipeline.extract.stage import run_extract
    from pipeline.progress import no_progress, terminal_progress

    cfg = config_from_arguments(ExtractConfig, args)
    progress = no_progress if args.quiet else terminal_progress
    summary = run_extract(args.fetch_dir, args.out, cfg, progress, replace=args.replace)
    print_summary(summary, outcome_label="rejected ")
    print(f"rejects: {args.out / 'rejected' / 'extract'}")
    return 0
