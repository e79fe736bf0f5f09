"""The filter stage's documents/s against calling fastText ``predict`` alone on the same texts.

Corpus: ``--docs`` documents in ``--shards`` Document shards, built from the sample corpus's
original prose: English articles and encyclopedia entries recombined paragraph by paragraph
(~150-700 words; half of them typeset with curly quotes, dashes and no-break spaces, as web
pages are), pages in nine other languages, and keyword spam (the mix WebText-style crawls
see, ~75% English). A quality classifier is trained first (prose vs spam) outside the
timing.

Baseline: the two fastText models' ``predict`` (lid.176 language ID, then the quality
classifier) over every text, in one process, with the texts already in memory and already
flattened to one line each (the models' only work, with nothing else around it). Timed
before and after the stage runs, and the faster of the two is used (shared hosts drift).

Stage: ``run_filter`` from the Parquet shards to the written outputs: reading, both models,
langdetect cross-checks, the Gopher rules, the quality selection, writing kept documents,
rejects and score shards, worker start-up and model loading included. Shown as the stage
runs by default (``--workers``, default all cores) and with one worker process, the per-core
ratio (the same resources as the baseline), each on a fresh output directory. Goal: the
default stage >= 0.90 of the baseline's documents/s.

The corpus is large enough (100k documents, 16 shards of 6,250) that the stage's fixed costs
(spawning workers, loading models, ~0.5 s per worker) weigh as little as they do on a real
crawl; with ``--docs 20000`` they are a fifth of the run.

    python bench/filter.py [--docs 100000] [--shards 16] [--workers N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pipeline.filter.config import FilterConfig, QualityConfig
from pipeline.filter.fasttext_models import load_model, one_line
from pipeline.filter.language import lid_model_path
from pipeline.filter.quality import quality_line
from pipeline.filter.quality_train import QualityTrainConfig, train_quality_model
from pipeline.filter.stage import run_filter
from pipeline.records import Document, document_id, to_table
from pipeline.sample.corpus import ARTICLES
from pipeline.shards import write_shard

ENGLISH = [p for a in ARTICLES if a.language == "en" and a.kind in ("article", "wikipedia") for p in a.paragraphs]
FOREIGN = ["\n".join(a.paragraphs) for a in ARTICLES if a.kind == "foreign" and a.language != "en"]
SPAM = ["\n".join(a.paragraphs) for a in ARTICLES if a.kind == "spam"]


def typeset(paragraph: str, rng: random.Random) -> str:
    """The paragraph as a CMS prints it: curly apostrophes, now and then quoted, a dash, a no-break space."""
    paragraph = paragraph.replace("'", "’").replace(". ", " — ", 1).replace(" ", "\u00a0", 1)
    return f"“{paragraph}”" if rng.random() < 0.3 else paragraph


def make_text(rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.75:
        paragraphs = rng.sample(ENGLISH, k=rng.randint(2, 8))
        if rng.random() < 0.5:  # half the English pages use typographic punctuation (non-ASCII text)
            paragraphs = [typeset(paragraph, rng) for paragraph in paragraphs]
        return "\n".join(paragraphs)
    if draw < 0.9:
        return rng.choice(FOREIGN)
    return rng.choice(SPAM) + "\n" + rng.choice(ENGLISH)


def build_corpus(directory: Path, documents: int, shards: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    texts = [make_text(rng) for _ in range(documents)]
    now = datetime(2019, 1, 1, tzinfo=UTC)
    per_shard = -(-documents // shards)
    for index in range(shards):
        rows = [
            Document(
                id=document_id(f"https://bench.test/{n}"),
                url=f"https://bench.test/{n}",
                domain="bench.test",
                title=None,
                text=texts[n],
                karma=5,
                fetched_at=now,
            )
            for n in range(index * per_shard, min((index + 1) * per_shard, documents))
        ]
        write_shard(to_table(rows, Document), directory / f"part-{index:05d}.parquet", shard_fingerprint="bench")
    return texts


def train_model(root: Path) -> Path:
    rng = random.Random(1)
    good = ["\n".join(rng.sample(ENGLISH, k=4)) for _ in range(300)]
    bad = [rng.choice(SPAM) + " " + " ".join(rng.sample(ENGLISH[0].split(), k=20)) for _ in range(300)]
    for name, texts in (("good.jsonl", good), ("bad.jsonl", bad)):
        (root / name).write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    metrics = train_quality_model([root / "good.jsonl"], [root / "bad.jsonl"], root / "model", QualityTrainConfig())
    return Path(metrics.model)


def predict_alone(texts: list[str], cfg: FilterConfig) -> float:
    """Seconds for both models' predict over prepared lines (preparation not timed)."""
    lid, quality = load_model(lid_model_path(cfg.language)), load_model(cfg.quality.model_path)
    lid_lines, quality_lines = [one_line(t) for t in texts], [quality_line(t) for t in texts]
    lid.predict(lid_lines[:100]), quality.predict(quality_lines[:100])  # warm-up
    start = time.perf_counter()
    for begin in range(0, len(texts), cfg.batch_size):
        lid.predict(lid_lines[begin : begin + cfg.batch_size], k=1)
        quality.predict(quality_lines[begin : begin + cfg.batch_size], k=1)
    return time.perf_counter() - start


def time_stage(docs: Path, out: Path, cfg: FilterConfig, workers: int) -> tuple[float, dict]:
    start = time.perf_counter()
    summary = run_filter(docs, out, dataclasses.replace(cfg, workers=workers))
    return time.perf_counter() - start, summary.outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-filter-") as scratch:
        root = Path(scratch)
        texts = build_corpus(root / "docs", args.docs, args.shards)
        words = sum(len(t.split()) for t in texts) / len(texts)
        cfg = FilterConfig(quality=QualityConfig(model_path=str(train_model(root))))
        print(f"corpus: {len(texts):,} documents, {words:.0f} words on average, {args.shards} shards")
        runs = [(args.workers, f"{args.workers} workers (the default: all cores)")]
        runs += [(1, "1 worker (per core)")] if args.workers != 1 else []
        baseline = predict_alone(texts, cfg)
        stage = {workers: time_stage(root / "docs", root / f"out-{workers}", cfg, workers) for workers, _ in runs}
        baseline = min(baseline, predict_alone(texts, cfg))  # timed before and after: the faster, on a noisy host
        print(f"baseline  fastText predict alone (lid.176 + quality), 1 process {len(texts) / baseline:>8,.0f} docs/s")
        for workers, label in runs:
            seconds, outcomes = stage[workers]
            goal = "  (goal >= 0.90)" if workers == args.workers else ""
            print(
                f"stage     run_filter, {label:<41}{len(texts) / seconds:>8,.0f} docs/s  "
                f"ratio {baseline / seconds:.2f}{goal}"
            )
        print(f"rejected: {dict(sorted(outcomes.items()))}")


if __name__ == "__main__":
    main()
