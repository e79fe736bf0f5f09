"""``webtext extract``: main text of every fetched page, as Document shards."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import print_counts


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "extract",
        help="main text of fetched pages (trafilatura) into Document shards",
        description="Read the WARC responses of a fetch directory and extract each page's main text. "
        "Pages that yield too little text are written to OUT/rejected/extract/<reason>/ with counts.",
    )
    parser.add_argument("fetch_dir", type=Path, metavar="PAGES_DIR", help="output directory of `webtext fetch`")
    parser.add_argument("--out", type=Path, required=True, help="output directory for Document shards")
    parser.add_argument("--min-words", type=int, default=50, help="drop pages with fewer words of main text")
    parser.add_argument("--page-timeout", type=float, default=10.0, help="seconds one page may take")
    parser.add_argument("--workers", type=int, default=None, help="extraction processes (default: one per core)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=_extract)


def _extract(args: argparse.Namespace) -> int:
    from pipeline.extract.config import ExtractConfig
    from pipeline.extract.stage import run_extract
    from pipeline.progress import no_progress, terminal_progress

    cfg = ExtractConfig(min_words=args.min_words, page_timeout_s=args.page_timeout, workers=args.workers)
    summary = run_extract(args.fetch_dir, args.out, cfg, no_progress if args.quiet else terminal_progress)
    print(
        f"extract: {summary.documents:,} documents from {summary.pages:,} pages "
        f"({summary.not_fetched:,} had no archived response); "
        f"{summary.shards_skipped} of {len(summary.shards)} shards already complete"
    )
    print_counts(summary.outcomes, label="rejected ")
    print(f"documents: {args.out}; rejects: {args.out / 'rejected' / 'extract'}")
    return 0
