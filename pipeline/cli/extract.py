"""``webtext extract``: main text of every fetched page, as Document shards."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import print_summary
from pipeline.extract.config import ExtractConfig
from pipeline.settings import add_config_arguments, config_from_arguments


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "extract",
        help="main text of fetched pages (trafilatura) into Document shards",
        description="Read the WARC responses of a fetch directory and extract each page's main text. "
        "Pages that yield too little text are written to OUT/rejected/extract/<reason>/ with counts.",
    )
    parser.add_argument("fetch_dir", type=Path, metavar="PAGES_DIR", help="output directory of `webtext fetch`")
    parser.add_argument("--out", type=Path, required=True, help="output directory for Document shards")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    add_config_arguments(parser, ExtractConfig)
    parser.set_defaults(handler=_extract)


def _extract(args: argparse.Namespace) -> int:
    from pipeline.extract.stage import run_extract
    from pipeline.progress import no_progress, terminal_progress

    cfg = config_from_arguments(ExtractConfig, args)
    summary = run_extract(args.fetch_dir, args.out, cfg, no_progress if args.quiet else terminal_progress)
    print_summary(summary, outcome_label="rejected ")
    print(f"rejects: {args.out / 'rejected' / 'extract'}")
    return 0
