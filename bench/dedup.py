"""MinHash signatures against datasketch, and the Spark dedup stage's speed and accuracy as the corpus grows.

Signatures (``--part signatures``): documents/s in one process (per core) of ``document_signature``
from raw text (normalisation, shingling, hashing, 128 permutations: everything) against
``datasketch.MinHash(num_perm=128, seed=1)`` with its default SHA-1 hashfunc and ``update`` called
once per shingle, on the same texts. The baseline's shingles are precomputed outside its timing and
its permutations built once (both favour it). Goal: >= 20x. ``update_batch`` is shown beside it.
Texts are English-like, 200-1500 words, with punctuation, curly quotes and accented words. A few
signatures are checked equal to datasketch's with ``hashfunc=shingle_hash``: the same estimator.

Stage (``--part stage``): ``run_dedup`` in a local Spark session (started once, outside the timing;
two 1,000-document runs first: warm-up, then the fixed cost per run) on synthetic corpora of each
size, ~150 words per document from a 200k-word made-up vocabulary (unrelated documents share no
5-gram), with planted duplicates: exact copies with case and punctuation changes, near duplicates
(Jaccard 0.9-1), chains of near duplicates, and variants below the threshold (Jaccard ~0.6) that
must stay. Reports generation and stage time, docs/s, recall and precision of the removed documents
against the planted truth, and time per document relative to the smallest size (the baseline).

Memory and engines (``--part memory``): the peak resident memory and wall time of the whole process tree of one
``webtext dedup``
command (a fresh process with its session start, the JVM and the Python workers: RSS summed over the
process and its children, sampled every 50 ms) on planted corpora of web-page-like documents (300-1,200 words), against
the goal 1 GB + 2x the input's uncompressed text. The baseline, measured in the same run, is the session
before it was sized to its input: ``driver_memory: 2g`` with the JVM's default collector (G1) and Spark's
default Parquet and Arrow batch sizes. The local engine (``--engine local``) runs beside them, and Spark's time over
its time is the crossover on record: above 1 Spark wins. The stage's outputs must be identical under all three.

    python bench/dedup.py [--part signatures|stage|both|memory] [--sizes 10000,100000] [--docs 1000]
        [--memory-sizes 6000,50000]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psutil
import pyarrow.compute as pc
import pyarrow.dataset as ds
from datasketch import MinHash
from pyspark.sql import SparkSession

from pipeline.dedup.config import DedupConfig, SparkConfig
from pipeline.dedup.minhash import Permutations, document_signature, shingle_hash, shingle_hashes, shingles
from pipeline.dedup.stage import run_dedup
from pipeline.records import Document, document_id, to_table
from pipeline.sample.corpus import ARTICLES
from pipeline.shards import write_shard
from pipeline.spark.session import build_session
from pipeline.spark.sizing import uncompressed_bytes

SHARD_DOCS = 10_000
BASE_TIME = datetime(2019, 6, 1, tzinfo=UTC)
LETTERS = "abcdefghijklmnopqrstuvwxyz"
FANCY = ("“quoted”", "it’s", "café", "naïve", "résumé", "Zürich", "—", "°C", "don’t", "‘so-called’")
Planted = tuple[str, str, int, str]  # (name, text, karma, class)


def render(words: list[str], rng: random.Random) -> str:
    """Words as prose: capitalised sentences of 6-25 words, commas, full stops (varies with ``rng``)."""
    out, start = [], 0
    while start < len(words):
        sentence = words[start : start + rng.randint(6, 25)]
        start += len(sentence)
        if len(sentence) > 8 and rng.random() < 0.5:
            sentence[len(sentence) // 2] += ","
        out.append(" ".join([sentence[0].capitalize(), *sentence[1:]]) + rng.choice(".....!?"))
    return " ".join(out)


def english_texts(count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    english = " ".join(p for a in ARTICLES if a.language == "en" for p in a.paragraphs)
    vocab = sorted({word.lower() for word in re.findall(r"[\w'-]+", english)})
    texts = []
    for _ in range(count):
        length = rng.randint(200, 1500)
        texts.append(render([rng.choice(FANCY if rng.random() < 0.02 else vocab) for _ in range(length)], rng))
    return texts


def bench_signatures(count: int, repeats: int) -> dict[str, float]:
    texts, perms = english_texts(count), Permutations.make(128, 1)
    for text in texts[:5]:  # same estimator: equal to datasketch given the same hashfunc
        reference = MinHash(num_perm=128, seed=1, hashfunc=shingle_hash)
        reference.update_batch(shingles(text))
        assert np.array_equal(document_signature(text, perms)[0], reference.hashvalues.astype(np.uint32))
    document_signature(texts[0], perms)  # warm-up: character classes, power tables
    shingled = [shingles(text) for text in texts]
    template = MinHash(num_perm=128, seed=1)

    def ours() -> None:
        for text in texts:
            document_signature(text, perms)

    def per_shingle() -> None:
        for items in shingled:
            m = MinHash(num_perm=128, seed=1, permutations=template.permutations, scheme="affine32")
            for item in items:
                m.update(item)

    def batch() -> None:
        for items in shingled:
            MinHash(num_perm=128, seed=1, permutations=template.permutations, scheme="affine32").update_batch(items)

    rates: dict[str, float] = {}
    cpu_rates: dict[str, float] = {}
    for name, loop in (("ours", ours), ("datasketch", per_shingle), ("batch", batch)):
        best_wall, best_cpu = float("inf"), float("inf")
        for _ in range(repeats):
            cpu, wall = time.process_time(), time.perf_counter()
            loop()
            best_wall, best_cpu = min(best_wall, time.perf_counter() - wall), min(best_cpu, time.process_time() - cpu)
        rates[name], cpu_rates[name] = count / best_wall, count / best_cpu
    words = sum(len(text.split()) for text in texts) / count
    print(f"signatures: {count:,} texts, {words:.0f} words each on average, one process")
    print("  5 signatures equal datasketch MinHash(128, seed=1, hashfunc=shingle_hash): same estimator")
    for name, label in zip(rates, ("document_signature", "datasketch update/shingle", "datasketch update_batch")):
        print(f"  {label + ':':27}{rates[name]:9,.0f} docs/s ({cpu_rates[name]:,.0f} per CPU-s)")
    ratio, batch_ratio = rates["ours"] / rates["datasketch"], rates["ours"] / rates["batch"]
    print(f"  speed ratio vs update/shingle: {ratio:.1f}x (goal >= 20x); vs update_batch: {batch_ratio:.1f}x")
    rates["ratio"] = ratio
    return rates


def planted_corpus(size: int, seed: int, words_per_doc: tuple[int, int] = (100, 200)) -> list[Planted]:
    """``size`` documents, shuffled: originals (karma 100, always kept) and their planted variants."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices(LETTERS, k=rng.randint(3, 9))) for _ in range(200_000)]
    docs: list[Planted] = []

    def edit(words: list[str], count: int) -> list[str]:
        result = list(words)
        for position in rng.sample(range(len(result)), count):
            result[position] = rng.choice(vocab)
        return result

    while len(docs) < size:
        words, roll = rng.choices(vocab, k=rng.randint(*words_per_doc)), rng.random()
        base = f"d{len(docs)}"
        docs.append((base, render(words, rng), 100, "original"))
        if roll < 0.14:
            text = render(words, rng)
            docs.append((base + "x", text.upper() if rng.random() < 0.3 else text.replace(". ", "!  "), 5, "exact"))
        elif roll < 0.28:
            docs.append((base + "n", render(edit(words, len(words) // 100), rng), 5, "near"))
        elif roll < 0.31:
            for link in range(1, 4):  # each link one more ~1% edit: ends are ~0.73 apart, joined by the middle
                words = edit(words, len(words) // 100)
                docs.append((f"{base}c{link}", render(words, rng), 10 - link, "chain"))
        elif roll < 0.38:
            step = 20  # every 20th word: Jaccard ~0.6
            below = [rng.choice(vocab) if i % step == step // 2 else w for i, w in enumerate(words)]
            docs.append((base + "b", render(below, rng), 5, "below"))
    docs = docs[:size]
    rng.shuffle(docs)
    return docs


def true_jaccards(docs: list[Planted], limit: int = 200) -> dict[str, tuple[float, float]]:
    """(min, max) Jaccard of 5-gram hash sets between planted variants and their originals (a sample)."""
    texts, found = {name: text for name, text, _, _ in docs}, {}
    for name, text, _, kind in docs:
        origin = texts.get(re.sub(r"[xnbc]\d*$", "", name))
        if kind != "original" and origin is not None and len(found.setdefault(kind, [])) < limit:
            first, second = set(shingle_hashes(origin).tolist()), set(shingle_hashes(text).tolist())
            found[kind].append(len(first & second) / len(first | second))
    return {kind: (min(values), max(values)) for kind, values in found.items()}


def write_corpus(docs: list[Planted], directory: Path) -> None:
    for index, start in enumerate(range(0, len(docs), SHARD_DOCS)):
        batch = []
        for name, text, karma, _ in docs[start : start + SHARD_DOCS]:
            url = f"https://bench.example.org/{name}"
            batch.append(Document(document_id(url), url, "bench.example.org", name, text, karma, BASE_TIME))
        write_shard(to_table(batch, Document), directory / f"part-{index:05d}.parquet", shard_fingerprint="bench")


def stage_run(size: int, workdir: Path, spark: SparkSession, cfg: DedupConfig) -> dict[str, float]:
    docs_dir, out_dir = workdir / f"docs-{size}", workdir / f"out-{size}"
    for stale in (docs_dir, out_dir):  # a rerun must not resume a previous one
        shutil.rmtree(stale, ignore_errors=True)
    started = time.perf_counter()
    docs = planted_corpus(size, seed=size)
    write_corpus(docs, docs_dir)
    generated, started = time.perf_counter() - started, time.perf_counter()
    summary = run_dedup(docs_dir, out_dir, cfg, spark=spark)
    elapsed = time.perf_counter() - started
    table = ds.dataset(out_dir / "duplicates", format="parquet", partitioning="hive").to_table()
    removed = set(table.filter(pc.not_equal(table["reason"], "kept"))["id"].to_pylist())
    assert len(removed) == summary.counts["documents"] - summary.counts["kept"], (
        "duplicates/ disagrees with the summary"
    )
    kinds = {document_id(f"https://bench.example.org/{name}"): kind for name, _, _, kind in docs}
    truth = {doc_id for doc_id, kind in kinds.items() if kind in ("exact", "near", "chain")}
    hits = len(removed & truth)
    recall, precision = hits / max(len(truth), 1), hits / max(len(removed), 1)
    missed = {kind: sum(kinds[doc_id] == kind for doc_id in truth - removed) for kind in ("exact", "near", "chain")}
    wrong = {kind: sum(kinds[doc_id] == kind for doc_id in removed - truth) for kind in ("original", "below")}
    ranges = ", ".join(f"{kind} {low:.2f}-{high:.2f}" for kind, (low, high) in sorted(true_jaccards(docs).items()))
    rate, rounds = size / elapsed, summary.details["clusters"].get("cc_rounds")
    print(f"{size:>9,} docs: generated and written in {generated:.1f} s; stage {elapsed:.1f} s = {rate:,.0f} docs/s")
    print(f"  removed {len(removed):,}, planted {len(truth):,}; {summary.outcomes}; cc rounds {rounds}")
    print(f"  recall {recall:.4f}, precision {precision:.4f}; missed {missed}; wrongly removed {wrong}")
    print(f"  true Jaccard vs original (sample): {ranges}")
    return {"size": size, "gen": generated, "stage": elapsed, "recall": recall, "precision": precision}


def bench_stage(sizes: list[int], workdir: Path, spark_cfg: SparkConfig) -> list[dict[str, float]]:
    cfg, started = DedupConfig(spark=spark_cfg, engine="spark"), time.perf_counter()
    spark = build_session(spark_cfg)
    print(
        f"stage: Spark {spark_cfg.master}, {spark_cfg.shuffle_partitions} shuffle partitions, driver memory "
        f"{spark_cfg.driver_memory}, {os.cpu_count()} cores; bands x rows {cfg.banding}; "
        f"session start {time.perf_counter() - started:.1f} s (not timed)"
    )
    bands, rows = cfg.banding
    odds = ", ".join(f"{j:.2f}: {1 - (1 - j**rows) ** bands:.3f}" for j in (0.8, 0.85, 0.9, 0.95))
    print(f"LSH candidate probability of a pair at Jaccard {odds} (then verified on full signatures)")
    try:
        first = stage_run(1000, workdir, spark, cfg)["stage"]  # JVM and Python workers warming up
        fixed = stage_run(1000, workdir, spark, cfg)["stage"]
        print(f"first run {first:.1f} s (warm-up, not counted); fixed cost per run ~{fixed:.1f} s (the second)")
        results = [stage_run(size, workdir, spark, cfg) for size in sizes]
    finally:
        spark.stop()
    small = results[0]
    print(f"growth, against the smallest size ({small['size']:,} documents) as the baseline:")
    for result in results:
        result["relative"] = (result["stage"] / result["size"]) / (small["stage"] / small["size"])
        marginal = ((result["stage"] - fixed) / result["size"]) / ((small["stage"] - fixed) / small["size"])
        print(
            f"  time per doc at {result['size']:,}: x{result['relative']:.2f}; beyond the fixed cost: x{marginal:.2f}"
        )
    return results


WEB_PAGE_WORDS = (300, 1200)
ENGINE_ONLY = ("engine", "cc_rounds")  # what clusters.json says of the engine itself, not of the decision
SAMPLE_S = 0.05
GIB = 2**30
BEFORE_CONF = (  # the session before it was sized to its input: the JVM's default collector, Spark's batch sizes
    ("spark.driver.extraJavaOptions", "-XX:+UseG1GC"),
    ("spark.sql.parquet.columnarReaderBatchSize", "4096"),
    ("spark.sql.execution.arrow.maxBytesPerBatch", str(2**31 - 1)),
)


def cli_command(docs_dir: Path, out_dir: Path, spark_cfg: SparkConfig, engine: str) -> list[str]:
    """``webtext dedup`` on ``engine`` with ``spark_cfg``'s memory settings, as a user runs it (this interpreter,
    this checkout)."""
    settings = ["--engine", engine, "--spark-driver-memory", spark_cfg.driver_memory]
    settings += [part for key, value in spark_cfg.conf for part in ("--spark-conf", f"{key}={value}")]
    start = "import sys; from pipeline.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", start, "dedup", str(docs_dir), "--out", str(out_dir), "--quiet", *settings]


def tree_rss(root: psutil.Process) -> dict[str, int]:
    """Resident bytes of ``root`` and all its descendants, by kind: the JVM, Spark's Python workers, the driver."""
    parts = {"driver": 0, "jvm": 0, "python workers": 0}
    for process in [root, *root.children(recursive=True)]:
        try:
            rss, name, command = process.memory_info().rss, process.name(), " ".join(process.cmdline())
        except psutil.NoSuchProcess:
            continue
        kind = "jvm" if name == "java" else "python workers" if "pyspark" in command else "driver"
        parts[kind] += rss
    return parts


def peak_tree_rss(
    docs_dir: Path, out_dir: Path, spark_cfg: SparkConfig, engine: str
) -> tuple[int, dict[str, int], float]:
    """(peak summed RSS, its parts at that moment, seconds) of ``webtext dedup`` in a fresh process."""
    shutil.rmtree(out_dir, ignore_errors=True)
    started = time.perf_counter()
    child = subprocess.Popen(cli_command(docs_dir, out_dir, spark_cfg, engine))
    root, peak, at_peak = psutil.Process(child.pid), 0, {}
    while child.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            parts = tree_rss(root)
            if sum(parts.values()) > peak:
                peak, at_peak = sum(parts.values()), parts
        time.sleep(SAMPLE_S)
    if child.returncode != 0:
        raise RuntimeError(f"webtext dedup {docs_dir} under {spark_cfg} failed (exit {child.returncode})")
    return peak, at_peak, time.perf_counter() - started


def output_digest(out_dir: Path) -> str:
    """The stage's outputs: every shard's bytes, and the decision's rows (Spark names its files at random)."""
    digest = hashlib.sha256()
    for path in sorted(out_dir.rglob("*.parquet")):
        relative = path.relative_to(out_dir)
        if relative.parts[0] not in ("duplicates", "_scratch"):
            digest.update(f"{relative}:{hashlib.sha256(path.read_bytes()).hexdigest()}".encode())
    decision = ds.dataset(out_dir / "duplicates", format="parquet", partitioning="hive").to_table()
    digest.update(json.dumps(sorted(map(str, decision.sort_by("id").to_pylist()))).encode())
    statistics = json.loads((out_dir / "clusters.json").read_text())["statistics"]
    digest.update(json.dumps({key: value for key, value in statistics.items() if key not in ENGINE_ONLY}).encode())
    return digest.hexdigest()


def bench_memory(sizes: list[int], workdir: Path, master: str) -> list[dict[str, float]]:
    """Peak RSS and time of the stage's process tree, Spark before (2g, G1) and after (auto) it was sized to its
    input, and the local engine, against 1 GB + 2x the input text; the ratio of Spark's time to local's."""
    settings = {
        "spark before: 2g, G1, Spark's batches": ("spark", SparkConfig(master, driver_memory="2g", conf=BEFORE_CONF)),
        "spark, driver_memory auto": ("spark", SparkConfig(master)),
        "local engine": ("local", SparkConfig(master)),
    }
    print(f"memory: {master}, {os.cpu_count()} cores, one fresh process per run, RSS summed over its tree")
    results = []
    for size in sizes:
        docs_dir = workdir / f"web-docs-{size}"
        shutil.rmtree(docs_dir, ignore_errors=True)
        write_corpus(planted_corpus(size, seed=size, words_per_doc=WEB_PAGE_WORDS), docs_dir)
        text = uncompressed_bytes(sorted(docs_dir.glob("*.parquet")), "text")
        goal = GIB + 2 * text
        print(f"{size:>9,} docs, {text / 2**20:,.0f} MiB of text: goal {goal / 2**20:,.0f} MiB")
        digests, seconds_by_engine = set(), {}
        for label, (engine, spark_cfg) in settings.items():
            out_dir = workdir / f"web-out-{size}"
            peak, parts, seconds = peak_tree_rss(docs_dir, out_dir, spark_cfg, engine)
            seconds_by_engine[engine] = seconds
            digests.add(output_digest(out_dir))
            shares = ", ".join(f"{kind} {rss / 2**20:,.0f}" for kind, rss in parts.items())
            print(
                f"  {label:<32} peak {peak / 2**20:6,.0f} MiB = {peak / goal:.2f} x goal ({shares} MiB), "
                f"{seconds:.0f} s"
            )
            results.append({"size": size, "label": label, "peak": peak, "goal": goal, "seconds": seconds})
        print(
            f"  spark (auto) / local engine, wall time: {seconds_by_engine['spark'] / seconds_by_engine['local']:.2f}"
        )
        print(f"  outputs identical under all three: {len(digests) == 1}")
        assert len(digests) == 1, "the engine or the session's memory settings changed the stage's output"
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("signatures", "stage", "both", "memory"), default="both")
    parser.add_argument("--sizes", default="10000,100000", help="stage corpus sizes (1000000 is opt-in)")
    parser.add_argument("--memory-sizes", default="6000,50000", help="corpus sizes of the memory part")
    parser.add_argument("--docs", type=int, default=1000, help="texts for the signatures part")
    parser.add_argument("--repeats", type=int, default=3, help="best of N timings (signatures part)")
    parser.add_argument("--workdir", type=Path, default=None, help="corpora and outputs, kept (default: a tempdir)")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()
    if args.part == "memory":
        with tempfile.TemporaryDirectory(prefix="bench-dedup-") as scratch:
            sizes = [int(size) for size in args.memory_sizes.split(",")]
            bench_memory(sizes, args.workdir or Path(scratch), args.master)
        return 0
    rates, results = bench_signatures(args.docs, args.repeats) if args.part != "stage" else None, []
    if args.part != "signatures":
        spark_cfg = SparkConfig(
            args.master, shuffle_partitions=args.shuffle_partitions, driver_memory=args.driver_memory
        )
        sizes = [int(size) for size in args.sizes.split(",")]
        with tempfile.TemporaryDirectory(prefix="bench-dedup-") as scratch:
            results = bench_stage(sizes, args.workdir or Path(scratch), spark_cfg)
    print("\nsummary")
    if rates:
        print(
            f"  signatures: ours {rates['ours']:,.0f} docs/s, datasketch {rates['datasketch']:,.0f} docs/s, "
            f"{rates['ratio']:.1f}x (goal >= 20x)"
        )
    for r in results:
        print(
            f"  stage {r['size']:>9,}: gen {r['gen']:6.1f} s | stage {r['stage']:6.1f} s | "
            f"{r['size'] / r['stage']:6,.0f} docs/s | per-doc x{r['relative']:.2f} vs smallest | "
            f"recall {r['recall']:.4f} | precision {r['precision']:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
