"""``webtext harvest``: outbound links of Reddit submissions with enough karma."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.reddit_api import DEFAULT_API_BASE, DEFAULT_AUTH_URL, RedditApiConfig
from pipeline.harvest.urls import DEFAULT_BLOCKED_DOMAINS
from pipeline.progress import no_progress, terminal_progress

if TYPE_CHECKING:
    from pipeline.harvest.stage import HarvestSummary


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "harvest",
        help="outbound links of Reddit submissions with enough karma",
        description="Harvest outbound links from Pushshift-style NDJSON dumps (.zst/.bz2/.xz/plain) "
        "and/or the Reddit API. Karma is summed over all submissions of the same normalised URL.",
    )
    parser.add_argument("dumps", nargs="*", type=Path, metavar="DUMP", help="submission dump files")
    parser.add_argument("--out", type=Path, required=True, help="output directory for UrlRecord shards")
    parser.add_argument("--min-karma", type=int, default=3, help="keep URLs whose summed karma is at least this")
    parser.add_argument("--after", help="keep submissions created at or after this UTC date (YYYY-MM-DD)")
    parser.add_argument("--before", help="keep submissions created before this UTC date (YYYY-MM-DD)")
    parser.add_argument("--allow-nsfw", action="store_true", help="keep submissions marked over_18")
    parser.add_argument(
        "--block-domain",
        action="append",
        default=[],
        metavar="HOST",
        help="block this host and its subdomains, in addition to the default list",
    )
    parser.add_argument(
        "--no-default-blocklist", action="store_true", help="do not block the default image/video/file hosts"
    )
    parser.add_argument("--buckets", type=int, default=16, help="URL-hash buckets = output shards (memory knob)")
    parser.add_argument(
        "--skip-corrupt",
        action="store_true",
        help="report a truncated or corrupt dump and keep what was readable, instead of failing",
    )
    api = parser.add_argument_group(
        "Reddit API (nightly increments; credentials from REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET, REDDIT_USER_AGENT)"
    )
    api.add_argument("--reddit-api", action="store_true", help="fetch new submissions from the Reddit API")
    api.add_argument("--subreddit", action="append", default=[], help="subreddit to page (default: all)")
    api.add_argument("--since", help="stop paging at submissions older than this UTC date/time")
    api.add_argument("--max-pages", type=int, default=10, help="pages of 100 per subreddit")
    api.add_argument("--api-base", default=DEFAULT_API_BASE, help="API base URL")
    api.add_argument("--auth-url", default=DEFAULT_AUTH_URL, help="OAuth token URL")
    api.add_argument("--allow-private", action="store_true", help="allow API URLs on private/loopback addresses")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_harvest)


def harvest_config_from(args: argparse.Namespace) -> HarvestConfig:
    blocked = () if args.no_default_blocklist else DEFAULT_BLOCKED_DOMAINS
    return HarvestConfig(
        min_karma=args.min_karma,
        after=args.after,
        before=args.before,
        allow_nsfw=args.allow_nsfw,
        blocked_domains=(*blocked, *args.block_domain),
        n_buckets=args.buckets,
        skip_corrupt=args.skip_corrupt,
    )


def reddit_api_config_from(args: argparse.Namespace) -> RedditApiConfig | None:
    if not args.reddit_api:
        return None
    return RedditApiConfig(
        subreddits=tuple(args.subreddit) or ("all",),
        api_base=args.api_base,
        auth_url=args.auth_url,
        since=args.since,
        max_pages=args.max_pages,
        allow_private=args.allow_private,
    )


def print_harvest_summary(summary: HarvestSummary, out: Path) -> None:
    total = max(summary.lines, 1)
    print(f"harvest: {summary.lines:,} lines from {len(summary.sources)} source(s)")
    for outcome, count in sorted(summary.outcomes.items(), key=lambda item: -item[1]):
        print(f"  {outcome:<20} {count:>12,}  {100 * count / total:5.1f}%")
    for source in summary.sources:
        if source["corrupt"]:
            print(f"  CORRUPT (kept what was readable): {source['corrupt']}")
    print(f"  duplicate submissions {summary.duplicate_submissions:,} (counted once)")
    print(
        f"urls: {summary.urls_kept:,} kept with karma >= {summary.config['min_karma']}, "
        f"{summary.urls_below_karma:,} below; {len(summary.shards)} shards "
        f"({summary.shards_skipped} already complete) in {out}"
    )
    print(f"summary: {out / 'summary.json'}")


def _harvest(args: argparse.Namespace) -> int:
    from pipeline.harvest.sources import collect_sources
    from pipeline.harvest.stage import run_harvest

    cfg = harvest_config_from(args)
    sources = collect_sources(args.dumps, args.out, reddit_api_config_from(args))
    progress = no_progress if args.quiet else terminal_progress
    summary = run_harvest(sources, args.out, cfg, progress)
    print_harvest_summary(summary, args.out)
    return 0
