"""The ``webtext`` command line: each stage runnable on its own, with progress and plain errors.

Expected failures (bad arguments, missing or corrupt inputs, API refusals) print one
line naming the input and exit with status 2; nothing already written is removed, so
the same command can simply be run again. Stage modules are imported by the subcommand
that needs them, so ``webtext --help`` (and every worker process) starts quickly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipeline.cli import (
    decontaminate,
    dedup,
    evaluate,
    extract,
    fetch,
    harvest,
    lineage,
    quality_filter,
    sample,
    tokenize,
    train,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="webtext", description="Build a WebText-style corpus, stage by stage.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        sample,
        harvest,
        fetch,
        extract,
        dedup,
        quality_filter,
        decontaminate,
        tokenize,
        train,
        evaluate,
        lineage,
    ):
        module.register(commands)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    from pipeline.decontaminate.wikipedia import CorruptWikipediaDump
    from pipeline.harvest.dumps import CorruptDumpError
    from pipeline.harvest.reddit_api import RedditApiError
    from pipeline.lock import FolderLocked
    from pipeline.net import BlockedAddressError

    expected = (ValueError, FileNotFoundError, CorruptDumpError, RedditApiError, BlockedAddressError, FolderLocked)
    from evaluation.run import EvaluationFailed

    expected += (CorruptWikipediaDump, ConnectionError, EvaluationFailed)
    return (*expected, _spark_errors())


def _spark_errors() -> type[BaseException]:
    """Spark's analysis errors (a docs shard with a wrong schema) are input errors too; pyspark is imported lazily."""
    try:
        from pyspark.errors import AnalysisException
    except ImportError:
        return ValueError
    return AnalysisException


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except _expected_errors() as error:
        print(f"webtext {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"webtext {args.command}: interrupted; finished shards are kept, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
