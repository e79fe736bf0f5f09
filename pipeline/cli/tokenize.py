"""``webtext tokenize``: documents into nanoGPT-style token shards with GPT-2's BPE or a BPE trained on them."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli.report import REPLACE_HELP, print_summary
from pipeline.settings import add_config_arguments, config_from_arguments
from pipeline.tokenize.config import TokenizeConfig


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "tokenize",
        help="encode documents into token shards (.bin, as nanoGPT reads them) with a manifest",
        description="Encode each document's text followed by <|endoftext|> with GPT-2's BPE (tiktoken, offline from "
        "encoder.json + vocab.bpe) or a byte-level BPE trained on the corpus. Each documents shard gives its own "
        "train/ and val/ shards (documents shuffled by seed, held out whole); OUT/manifest.json lists them all, "
        "OUT/tokenizer/ holds the tokenizer's files.",
    )
    parser.add_argument(
        "docs_dir", type=Path, metavar="DOCS_DIR", help="Document shards (output of `webtext decontaminate`)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory (the tokens folder)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "--replace",
        action="store_true",
        help=REPLACE_HELP + "; also lets a run with another tokenizer start the folder over",
    )
    add_config_arguments(parser, TokenizeConfig)
    parser.set_defaults(handler=_tokenize)


def _tokenize(args: argparse.Namespace) -> int:
    from pipeline.progress import no_progress, terminal_progress
    from pipeline.tokenize.stage import run_tokenize

    cfg = config_from_arguments(TokenizeConfig, args)
    progress = no_progress if args.quiet else terminal_progress
    summary = run_tokenize(args.docs_dir, args.out, cfg, progress=progress, replace=args.replace)
    print_summary(summary, outcome_label="documents ")
    tokenizer, vocab_size, dtype = (summary.details[key] for key in ("tokenizer", "vocab_size", "dtype"))
    print(f"  tokenizer {tokenizer} ({vocab_size:,} ids, {dtype}); manifest {summary.details['manifest']}")
    return 0
