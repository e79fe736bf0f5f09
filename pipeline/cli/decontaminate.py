"""``webtext decontaminate`` (Wikipedia pages, eval-set and Wikipedia overlaps), ``webtext overlap`` (GPT-2's table)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import REPLACE_HELP, print_summary
from pipeline.decontaminate.config import DecontaminateConfig
from pipeline.settings import add_config_arguments, config_from_arguments

EVAL_SET_HELP = "an evaluation set, NAME=PATH or NAME=FORMAT:PATH (FORMAT: jsonl or text); repeat for more"


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "decontaminate",
        help="drop Wikipedia pages and cut evaluation-set and Wikipedia overlaps (GPT-3's 13-gram rule)",
        description="Drop documents from Wikipedia or its mirrors; cut every 13-gram found in an evaluation set or "
        "in Wikipedia's text (plus 200 characters each side), dropping documents left in more than 10 pieces. "
        "Email addresses, phone numbers and IP addresses left in the kept text become placeholders (--no-mask-pii "
        "keeps them). Dropped documents and the cut spans go to OUT/rejected/decontaminate/<reason>/; GPT-2's 8-gram "
        "overlap report before and after goes to OUT/_reports/.",
    )
    parser.add_argument("docs_dir", type=Path, metavar="DOCS_DIR", help="Document shards (output of `webtext filter`)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--eval-set", dest="eval_sets", action="append", default=[], metavar="NAME=PATH", help=EVAL_SET_HELP
    )
    parser.add_argument(
        "--wikipedia-dump",
        dest="wikipedia_dumps",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="a MediaWiki XML dump, pages-articles*.xml[.bz2]; repeat for more",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--replace", action="store_true", help=REPLACE_HELP)
    add_config_arguments(parser, DecontaminateConfig)
    parser.set_defaults(handler=_decontaminate)
    overlap = commands.add_parser(
        "overlap",
        help="GPT-2's 8-gram overlap report: the share of each evaluation set's 8-grams found in a corpus",
        description="Normalise text to lower-case alphanumeric words, search every 8-gram of CORPUS_DIR's documents "
        "in the evaluation sets' and print, per evaluation set, the exact percentage of its distinct 8-grams found in "
        "the corpus. What each shard holds is kept under --out/shards/, so a rerun reads only new or changed shards. "
        "Writes overlap.md and overlap.json under --out.",
    )
    overlap.add_argument("corpus_dir", type=Path, metavar="CORPUS_DIR", help="Document shards")
    overlap.add_argument(
        "--eval-set", dest="eval_sets", action="append", required=True, metavar="NAME=PATH", help=EVAL_SET_HELP
    )
    overlap.add_argument("--out", type=Path, default=None, help="report directory (default: CORPUS_DIR/_reports)")
    overlap.set_defaults(handler=_overlap)


def _decontaminate(args: argparse.Namespace) -> int:
    from pipeline.decontaminate.evalsets import EvalSet
    from pipeline.decontaminate.stage import run_decontaminate
    from pipeline.progress import no_progress, terminal_progress

    cfg = config_from_arguments(DecontaminateConfig, args)
    eval_sets = [EvalSet.parse(spec) for spec in args.eval_sets]
    progress = no_progress if args.quiet else terminal_progress
    summary = run_decontaminate(
        args.docs_dir, args.out, cfg, eval_sets, args.wikipedia_dumps, progress=progress, replace=args.replace
    )
    print_summary(summary, outcome_label="dropped ")
    for name, counts in summary.details["per_reference"].items():
        print(
            f"  {name}: {counts['trimmed']:,} trimmed, {counts['dropped']:,} dropped, {counts['chars_removed']:,} chars"
        )
    for moment in ("before", "after"):
        if report := summary.details.get(f"overlap_{moment}"):
            print(f"8-gram overlap with the evaluation sets, {moment}:\n{report['table']}")
    return 0


def _overlap(args: argparse.Namespace) -> int:
    from pipeline.decontaminate.evalsets import EvalSet
    from pipeline.decontaminate.overlap import overlap_report
    from pipeline.shards import docs_shards

    docs_shards(args.corpus_dir, produced_by="filter or decontaminate")
    report = overlap_report(args.corpus_dir, [EvalSet.parse(spec) for spec in args.eval_sets], args.out)
    print(report["table"], end="")
    print(f"report: {(args.out or args.corpus_dir / '_reports') / 'overlap.md'}")
    return 0
