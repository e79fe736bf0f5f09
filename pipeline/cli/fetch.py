"""``webtext fetch``: download harvested URLs politely into WARC files and a pages index."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import print_summary
from pipeline.fetch.config import FetchConfig
from pipeline.settings import add_config_arguments, config_from_arguments


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "fetch",
        help="download harvested URLs into WARC files plus a pages index",
        description="Fetch every URL of the harvest's shards (resumable: finished batches are skipped). "
        "Private, loopback and link-local addresses are refused unless --allow-private.",
    )
    parser.add_argument("urls_dir", type=Path, metavar="URLS_DIR", help="output directory of `webtext harvest`")
    parser.add_argument("--out", type=Path, required=True, help="output directory (warc/, pages/)")
    parser.add_argument("--replay", type=Path, nargs="+", metavar="WARC", help="answer from these WARC files")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    add_config_arguments(parser, FetchConfig)
    parser.set_defaults(handler=_fetch)


def _fetch(args: argparse.Namespace) -> int:
    from pipeline.fetch.http import HttpFetcher
    from pipeline.fetch.replay import WarcReplayFetcher
    from pipeline.fetch.stage import run_fetch
    from pipeline.progress import no_progress, terminal_progress

    cfg = config_from_arguments(FetchConfig, args)
    replay = args.replay
    make = (lambda _: WarcReplayFetcher(replay, cfg.max_redirects, cfg.read_tdmrep_file)) if replay else HttpFetcher
    summary = run_fetch(args.urls_dir, args.out, cfg, make, no_progress if args.quiet else terminal_progress)
    print_summary(summary)
    print(f"pages index: {args.out / 'pages'}; WARC: {args.out / 'warc'}")
    return 0
