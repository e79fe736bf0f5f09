"""The tokenize stage end to end against GPT-2's BPE alone on the same texts in memory, same number of processes.

Corpus: ``--mb`` MB of documents (3-8 English paragraphs of the sample corpus each, every ~8th word
swapped for another so no two documents are alike) in ``--shards`` Parquet documents shards.

- stage: ``run_tokenize`` with ``--workers`` processes, from the call to its return: worker start-up,
  the tokenizer's load, Parquet reads, the split and shuffle, encoding, ``.bin``/``.idx`` writes with
  their sha256, the group records and the manifest;
- alone: ``--workers`` processes, each with GPT-2's encoding built and its shards' texts already in
  memory, all released together to run ``encode_ordinary_batch(texts, num_threads=1)``; timed from
  the release to the last one's end. What tokenizing cannot do without.

It prints MB/s and tokens/s of both (best of ``--repeats``, range in brackets) and the ratio
stage / alone (the goal: >= 0.9). GPT-2's files come from ``--gpt2-vocab-dir`` (default
``../shared/data/gpt2``) or tiktoken's cache.

    python bench/tokenize_bench.py [--mb 200] [--shards 16] [--workers 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.records import Document, document_id, to_table
from pipeline.sample.corpus import ARTICLES
from pipeline.shards import write_shard
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.encoders import Gpt2Encoder, find_gpt2_files
from pipeline.tokenize.stage import run_tokenize

ENGLISH = [p for a in ARTICLES if a.language == "en" and a.kind in ("article", "wikipedia") for p in a.paragraphs]
SHARED_GPT2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "gpt2"
EPOCH = datetime(2019, 1, 1, tzinfo=UTC)


def build_corpus(directory: Path, megabytes: int, shards: int, seed: int = 3) -> int:
    """Documents shards holding ``megabytes`` MB of text in all; returns the text's UTF-8 bytes."""
    rng = random.Random(seed)
    words = sorted({word for paragraph in ENGLISH for word in paragraph.split() if word.isalpha()})
    per_shard, total = megabytes * 1_000_000 // shards, 0
    for shard in range(shards):
        rows, size = [], 0
        while size < per_shard:
            tokens = "\n\n".join(rng.sample(ENGLISH, rng.randint(3, 8))).split(" ")
            for position in range(rng.randrange(8), len(tokens), 8):
                tokens[position] = rng.choice(words)
            text, url = " ".join(tokens), f"https://bench.test/{shard}/{len(rows)}"
            rows.append(Document(document_id(url), url, "bench.test", None, text, 5, EPOCH))
            size += len(text.encode("utf-8"))
        write_shard(to_table(rows, Document), directory / f"part-{shard:05d}.parquet", shard_fingerprint="bench")
        total += size
    return total


def _alone_worker(files: dict[str, Path], shards: list[Path], barrier: object, results: object) -> None:
    encoding = Gpt2Encoder(files)._encoding  # the same tiktoken Encoding the stage builds
    texts = [text for shard in shards for text in pq.read_table(shard, columns=["text"]).column("text").to_pylist()]
    barrier.wait()  # type: ignore[attr-defined]
    start = time.monotonic()
    tokens = sum(map(len, encoding.encode_ordinary_batch(texts, num_threads=1)))
    results.put((start, time.monotonic(), tokens))  # type: ignore[attr-defined]


def timed_alone(files: dict[str, Path], shards: list[Path], workers: int) -> tuple[float, int]:
    """Wall seconds from the common release to the last worker's end, and the tokens encoded."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(workers), context.Queue()
    parts = [shards[index::workers] for index in range(workers)]  # the stage's pool takes shards in this order too
    processes = [context.Process(target=_alone_worker, args=(files, part, barrier, results)) for part in parts]
    for process in processes:
        process.start()
    timings = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return max(end for _, end, _ in timings) - min(start for start, _, _ in timings), sum(t for _, _, t in timings)


def timed_stage(docs: Path, out: Path, vocab_dir: Path | None, workers: int) -> tuple[float, int]:
    shutil.rmtree(out, ignore_errors=True)
    cfg = TokenizeConfig(tokenizer="gpt2", gpt2_vocab_dir=vocab_dir, workers=workers)
    start = time.monotonic()
    summary = run_tokenize(docs, out, cfg)
    return time.monotonic() - start, summary.counts["tokens"] - summary.counts["documents"]  # without the EOTs


def _figure(values: list[float], digits: int = 1) -> str:
    best = max(values)
    spread = f" [{min(values):,.{digits}f}-{best:,.{digits}f}]" if len(values) > 1 else ""
    return f"{best:,.{digits}f}{spread}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="MB of text in the corpus")
    parser.add_argument("--shards", type=int, default=16, help="documents shards")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes, both sides")
    parser.add_argument("--repeats", type=int, default=2, help="timings of each side (best and range reported)")
    parser.add_argument("--gpt2-vocab-dir", type=Path, default=SHARED_GPT2 if SHARED_GPT2.is_dir() else None)
    args = parser.parse_args()
    files = find_gpt2_files(args.gpt2_vocab_dir)
    if files is None:
        parser.error("GPT-2's encoder.json and vocab.bpe not found: pass --gpt2-vocab-dir")
    with tempfile.TemporaryDirectory(prefix="bench-tokenize-") as scratch:
        root = Path(scratch)
        text_bytes = build_corpus(root / "docs", args.mb, args.shards)
        shards = sorted((root / "docs").glob("part-*.parquet"))
        print(f"corpus: {text_bytes / 1e6:,.1f} MB of text in {len(shards)} shards; {args.workers} processes each side")
        stage, alone = [], []
        for _ in range(args.repeats):
            seconds, tokens = timed_alone(files, shards, args.workers)
            alone.append((seconds, tokens))
            seconds, stage_tokens = timed_stage(root / "docs", root / "tokens", args.gpt2_vocab_dir, args.workers)
            stage.append((seconds, stage_tokens))
        assert stage_tokens == tokens, f"the stage encoded {stage_tokens} tokens, the bare loop {tokens}"
    for label, runs in (("alone (encode_ordinary_batch)", alone), ("stage (run_tokenize)", stage)):
        megabytes = [text_bytes / 1e6 / seconds for seconds, _ in runs]
        millions = [tokens / 1e6 / seconds for seconds, tokens in runs]
        print(f"{label:<30} {_figure(megabytes)} MB/s   {_figure(millions, 2)} M tokens/s")
    ratio = min(seconds for seconds, _ in alone) / min(seconds for seconds, _ in stage)
    print(f"stage / alone: {ratio:.2f}x (goal >= 0.90)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
