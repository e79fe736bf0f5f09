"""``webtext harvest``: outbound links of Reddit submissions with enough karma."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import print_summary
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.reddit_api import RedditApiConfig
from pipeline.settings import add_config_arguments, config_from_arguments

API_TITLE = (
    "Reddit API (nightly increments; credentials from REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET, REDDIT_USER_AGENT)"
)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "harvest",
        help="outbound links of Reddit submissions with enough karma",
        description="Harvest outbound links from Pushshift-style NDJSON dumps (.zst/.bz2/.xz/plain) "
        "and/or the Reddit API. Karma is summed over all submissions of the same normalised URL.",
    )
    parser.add_argument("dumps", nargs="*", type=Path, metavar="DUMP", help="submission dump files")
    parser.add_argument("--out", type=Path, required=True, help="output directory for UrlRecord shards")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--reddit-api", action="store_true", help="also fetch new submissions from the Reddit API")
    add_config_arguments(parser, HarvestConfig)
    add_config_arguments(parser, RedditApiConfig, dest="reddit_api", title=API_TITLE)
    parser.set_defaults(handler=_harvest)


def _harvest(args: argparse.Namespace) -> int:
    from pipeline.harvest.stage import harvest
    from pipeline.progress import no_progress, terminal_progress

    cfg = config_from_arguments(HarvestConfig, args)
    api = config_from_arguments(RedditApiConfig, args, dest="reddit_api") if args.reddit_api else None
    summary = harvest(args.dumps, args.out, cfg, api, no_progress if args.quiet else terminal_progress)
    print_summary(summary)
    for source in summary.details["sources"]:
        if source["corrupt"]:
            print(f"  CORRUPT (kept what was readable): {source['corrupt']}")
    print(
        f"  {summary.counts['urls_kept']:,} URLs kept with karma >= {cfg.min_karma}; summary: {args.out}/summary.json"
    )
    return 0
