"""``webtext dedup``: exact and MinHash-LSH near-duplicate removal, run in Spark."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import print_counts


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
    parser.add_argument("--threshold", type=float, default=0.8, help="Jaccard similarity of near duplicates")
    parser.add_argument("--num-perm", type=int, default=128, help="MinHash permutations")
    parser.add_argument("--bands", type=int, default=None, help="LSH bands (with --rows; default: from threshold)")
    parser.add_argument("--rows", type=int, default=None, help="rows per LSH band")
    parser.add_argument("--no-verify", action="store_true", help="keep every LSH candidate (no Jaccard check)")
    parser.add_argument("--against", type=Path, default=None, help="an earlier dedup OUT: drop what it already has")
    parser.add_argument("--spark-master", default="local[*]", help="Spark master URL")
    parser.add_argument("--driver-memory", default="2g", help="Spark driver memory")
    parser.add_argument("--shuffle-partitions", type=int, default=8, help="Spark shuffle partitions")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=_dedup)


def _dedup(args: argparse.Namespace) -> int:
    from pipeline.dedup.config import DedupConfig, SparkConfig
    from pipeline.dedup.stage import run_dedup
    from pipeline.progress import no_progress, terminal_progress

    spark = SparkConfig(
        master=args.spark_master, driver_memory=args.driver_memory, shuffle_partitions=args.shuffle_partitions
    )
    cfg = DedupConfig(
        threshold=args.threshold,
        num_perm=args.num_perm,
        bands=args.bands,
        rows=args.rows,
        verify=not args.no_verify,
        spark=spark,
    )
    progress = no_progress if args.quiet else terminal_progress
    summary = run_dedup(args.docs_dir, args.out, cfg, against=args.against, progress=progress)
    clusters = summary.clusters
    print(
        f"dedup: kept {summary.kept:,} of {summary.documents:,} documents; "
        f"{clusters['clusters']:,} duplicate clusters ({clusters['bands']} bands x {clusters['rows']} rows); "
        f"{summary.shards_skipped} of {len(summary.shards)} shards already complete"
    )
    print_counts(summary.outcomes, label="rejected ")
    print(f"documents: {args.out}; duplicates: {args.out / 'duplicates'}; rejects: {args.out / 'rejected' / 'dedup'}")
    return 0
