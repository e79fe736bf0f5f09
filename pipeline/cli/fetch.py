"""``webtext fetch``: download harvested URLs politely into WARC files and a pages index."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import print_counts
from pipeline.fetch.config import DEFAULT_USER_AGENT, FetchConfig, parse_resolve


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "fetch",
        help="download harvested URLs into WARC files plus a pages index",
        description="Fetch every URL of the harvest's shards (resumable: finished batches are skipped). "
        "Private, loopback and link-local addresses are refused unless --allow-private.",
    )
    parser.add_argument("urls_dir", type=Path, metavar="URLS_DIR", help="output directory of `webtext harvest`")
    parser.add_argument("--out", type=Path, required=True, help="output directory (warc/, pages/)")
    parser.add_argument("--concurrency", type=int, default=256, help="requests in flight at once")
    parser.add_argument("--per-host", type=int, default=4, help="requests in flight per host")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds between request starts per host")
    parser.add_argument("--timeout", type=float, default=60.0, help="total seconds per request")
    parser.add_argument("--max-bytes", type=int, default=5 << 20, help="largest body kept (after decompression)")
    parser.add_argument("--retries", type=int, default=3, help="retries on connection errors, 5xx and 429")
    parser.add_argument("--user-agent", default=DEFAULT_USER_AGENT, help="the crawler's User-Agent")
    parser.add_argument("--ignore-robots", action="store_true", help="do not read robots.txt (your own sites only)")
    parser.add_argument("--allow-private", action="store_true", help="allow private and loopback addresses")
    parser.add_argument(
        "--resolve", action="append", default=[], metavar="HOST=IP[:PORT]", help="pin a host, like curl --resolve"
    )
    parser.add_argument("--resolve-only", action="store_true", help="never ask DNS: unpinned hosts fail")
    parser.add_argument("--replay", type=Path, nargs="+", metavar="WARC", help="answer from these WARC files")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=_fetch)


def fetch_config_from(args: argparse.Namespace) -> FetchConfig:
    return FetchConfig(
        user_agent=args.user_agent,
        concurrency=args.concurrency,
        per_host_concurrency=args.per_host,
        per_host_delay_s=args.delay,
        total_timeout_s=args.timeout,
        max_bytes=args.max_bytes,
        max_retries=args.retries,
        respect_robots=not args.ignore_robots,
        allow_private=args.allow_private,
        resolve=parse_resolve(args.resolve),
        resolve_only=args.resolve_only,
    )


def _fetch(args: argparse.Namespace) -> int:
    from pipeline.fetch.http import HttpFetcher
    from pipeline.fetch.replay import WarcReplayFetcher
    from pipeline.fetch.stage import run_fetch
    from pipeline.progress import no_progress, terminal_progress

    cfg = fetch_config_from(args)
    replay = args.replay
    make = (lambda _: WarcReplayFetcher(replay, cfg.max_redirects)) if replay else HttpFetcher
    summary = run_fetch(args.urls_dir, args.out, cfg, make, no_progress if args.quiet else terminal_progress)
    print(f"fetch: {summary.urls:,} URLs in {summary.batches} batches ({summary.batches_skipped} already complete)")
    print_counts(summary.outcomes)
    print(f"pages index: {args.out / 'pages'}; WARC: {args.out / 'warc'}; {summary.bytes:,} bytes of pages")
    return 0
