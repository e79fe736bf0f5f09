"""The decontaminate stage's documents/s against hashing the same texts' n-grams alone, and the overlap
report's growth: time and peak memory as the corpus grows 10x, and the cost of an increment.

Corpus: ``--docs`` documents of the sample corpus's English paragraphs recombined (~300-900
words each) in ``--shards`` shards; 1% of them quote a passage of an evaluation set inside
their text, and 10% hold a line of web clutter: dates, prices, versions, ISBNs, and email addresses,
phone numbers and IP addresses to mask. Evaluation sets: the real LAMBADA, WikiText-2 and PTB test files from
``../shared/data/eval`` when present (``--eval-dir``), else passages of the sample corpus.

Baseline: GPT-2's word rule and the 13-gram hashes of every document, in one process, texts
already in memory: the part of the stage's work no matching can avoid. The stage hashes a batch of
documents at once (``ngrams.joined_words``), which is faster than one call per document: the same hashes
batched the same way are printed as a second, stricter baseline. Stage:
``run_decontaminate`` from the shards to the written outputs (counting pass, matching,
cutting, rejects, personal data masking, both overlap reports), with one worker (per core, the
baseline's resources) and with the default workers. Masking: the stage's CPU time with one worker,
``mask_pii`` on and off in turns, and ``mask_pii`` alone on the texts in memory, as a share of the stage's.

Overlap report growth: ``overlap_report`` over ``--growth-docs`` and 10x as many documents (shards of
1,000), each in a fresh child process with an empty cache, the evaluation sets read and 100 documents
hashed (first-call costs) before the clock; the figures are the time ratio (10 is linear) and the
child's peak RSS (``VmHWM``) at both sizes (flat: memory is the evaluation sets' and one
shard's). Then one shard is added to the larger corpus and the report run again: only that shard is
computed. Goals: the stage at least 0.5x the baseline; the report's time linear, its peak RSS flat.

Spark join (``--spark-join``): the Wikipedia n-gram join (``spark_join.join_wikipedia``: hashing
in Python workers, the semi-join, the per-shard match files, the boilerplate counts) on 10k and
100k documents of ~200 random words (1% quoting an article), in 10 docs shards each, against a
reference built from a generated dump of ``--articles`` random-word articles; the session and
its Python workers are started (a 1k-document join) before the clock. The figure is the growth:
time per document at 100k over 10k (1.0 is linear). Off by default: it takes a minute or more.

Wikipedia parsing (``--wikipedia``, alone): a multistream dump of ``--wiki-articles`` generated articles
(the sample corpus's English paragraphs as wikitext: an infobox, links, italics, cite templates in
``<ref>`` tags, sections, a table, a file link, categories; 40% of the pages redirects or talk pages, which
the parser skips: more than half of English Wikipedia's are) in streams of 100 pages with its index, built
before the clock. Baseline: the
single-process path on the same file (``article_texts``: iterparse, mwparserfromhell, then the 13-gram hashes).
Then ``multistream.dump_ngrams`` with 1 worker (the range parser in this process) and with 2 worker processes:
articles/s of wall clock, and per CPU second (this process's and its workers': the per-core rate, which load
from other jobs does not move), each as a ratio to the baseline's; all three must give the same n-grams.

    python bench/decontaminate.py [--docs 20000] [--shards 8] [--growth-docs 2000] [--spark-join [--articles 3000]]
    python bench/decontaminate.py --wikipedia [--wiki-articles 20000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pipeline.benchmarks.registry import BENCHMARKS
from pipeline.decontaminate.config import DecontaminateConfig
from pipeline.decontaminate.evalsets import BENCHMARK, EvalSet
from pipeline.decontaminate.multistream import dump_ngrams, index_path, write_multistream
from pipeline.decontaminate.ngrams import joined_words, ngrams_within, text_batches, words_of
from pipeline.decontaminate.overlap import HITS_DIR
from pipeline.decontaminate.pii import mask_pii
from pipeline.decontaminate.references import wikipedia_ngrams
from pipeline.decontaminate.stage import run_decontaminate
from pipeline.decontaminate.wikipedia import article_texts
from pipeline.records import Document, document_id, to_table
from pipeline.sample.corpus import ARTICLES
from pipeline.shards import write_shard

ENGLISH = [p for a in ARTICLES if a.language == "en" and a.kind in ("article", "wikipedia") for p in a.paragraphs]
EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
SHARED_EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
REAL_SETS = {name: BENCHMARKS[name].filename for name in ("lambada", "wikitext2", "ptb")}
CLUTTER = (  # what web pages hold besides prose, personal data included
    "Posted on 2023-10-12 at 14:30 by admin. 1,234 views, 56 comments.",
    "Contact us at press@westbrook.example.org or call (555) 123-4567 for details.",
    "The server at 81.2.69.142 answered in 12.5 ms; version 3.11.4 fixed it.",
    "Prices start at $19.99 (was $24.99); offer valid until 31.12.2024, order no. 88213.",
    "Email jane.doe+news@gmail.com, phone +44 20 7946 0958, office hours 9-5.",
    "Chapter 4.2.1 covers the 1990s; see pages 120-145 and ISBN 978-0-306-40615-7.",
)


def eval_sets(eval_dir: Path, scratch: Path) -> list[EvalSet]:
    if all((eval_dir / name).is_file() for name in REAL_SETS.values()):
        return [EvalSet.parse(f"{name}={eval_dir / file}") for name, file in REAL_SETS.items()]
    path = scratch / "sample_eval.jsonl"
    heldout = [p for a in ARTICLES if a.kind == "heldout" for p in a.paragraphs]
    path.write_text("".join(json.dumps({"text": text}) + "\n" for text in heldout), encoding="utf-8")
    return [EvalSet.parse(f"sample={path}")]


def passages(sets: list[EvalSet]) -> list[str]:
    texts = [text for eval_set in sets for text in eval_set.texts()]
    return [text[:600] for text in texts if len(text.split()) > 30][:200] or texts


def build_corpus(
    directory: Path, docs: int, shards: int, quoted: list[str], seed: int = 1, first_shard: int = 0
) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for index in range(docs):
        paragraphs = rng.sample(ENGLISH, rng.randint(3, 8))
        if index % 10 == 5:
            paragraphs.insert(rng.randint(0, len(paragraphs)), " ".join(rng.sample(CLUTTER, 2)))
        text = "\n\n".join(paragraphs)
        if index % 100 == 0:
            text = text.replace("\n\n", f"\n\n{rng.choice(quoted)}\n\n", 1)
        texts.append(text)
    per_shard = -(-docs // shards)
    for shard in range(shards):
        rows = [
            Document(
                document_id(f"https://bench.test/{i}"),
                f"https://bench.test/{i}",
                "bench.test",
                None,
                texts[i],
                5,
                EPOCH,
            )
            for i in range(shard * per_shard, min(docs, (shard + 1) * per_shard))
        ]
        shard_path = directory / f"part-{first_shard + shard:05d}.parquet"
        write_shard(to_table(rows, Document), shard_path, shard_fingerprint="bench")
    return texts


def masking_cost(root: Path, texts: list[str], sets: list[EvalSet], rounds: int = 3) -> None:
    """The stage's CPU time per document with one worker (in this process), ``mask_pii`` on and off taken in turns
    (medians: other load on the machine moves both alike), and ``mask_pii`` alone on the texts in memory."""
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for round_ in range(rounds):
        for masked in (True, False):
            cfg = DecontaminateConfig(workers=1, mask_pii=masked)
            start = time.process_time()
            run_decontaminate(root / "docs", root / f"out-mask-{masked}-{round_}", cfg, sets)
            cpu[masked].append((time.process_time() - start) / len(texts))
    on, off = statistics.median(cpu[True]), statistics.median(cpu[False])
    start = time.process_time()
    placeholders = sum(sum(mask_pii(text)[1].values()) for text in texts)
    alone = (time.process_time() - start) / len(texts)
    print(
        f"stage, 1 worker, CPU time: mask_pii on {1 / on:,.0f} docs/s, off {1 / off:,.0f} docs/s "
        f"(on takes {100 * (on / off - 1):+.1f}%); mask_pii alone {1 / alone:,.0f} docs/s = {100 * alone / off:.1f}% "
        f"of the unmasked stage's CPU time ({placeholders} placeholders)"
    )


def time_baseline(texts: list[str], n: int) -> float:
    start = time.perf_counter()
    for text in texts:
        words_of(text).ngrams(n)
    return time.perf_counter() - start


def time_batched_baseline(texts: list[str], n: int) -> float:
    """The same hashes, a batch of texts at a time, as the stage itself now hashes them (``joined_words``)."""
    start = time.perf_counter()
    for first, stop in text_batches(texts):
        hashes, ends = joined_words(texts[first:stop])
        ngrams_within(hashes, ends, n)
    return time.perf_counter() - start


OVERLAP_CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.overlap import eval_8grams, overlap_report, text_hits
from pipeline.shards import complete_shards, read_table
ngrams = eval_8grams([EvalSet.parse(spec) for spec in json.loads(sys.argv[3])])
first = read_table(complete_shards(Path(sys.argv[1]))[0], columns=["text"])["text"].to_pylist()
text_hits(first[:100], ngrams.lookup)  # the reader's and the hashing's first-call costs, not cached
start = time.perf_counter()
report = overlap_report(Path(sys.argv[1]), ngrams, Path(sys.argv[2]))
seconds = time.perf_counter() - start
# VmHWM: this process's own peak (ru_maxrss starts from the parent's peak at fork and survives exec)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "shards_computed": report["shards_computed"], "shards": report["shards"],
                  "peak_mb": peak_kb / 1024}))
"""
GROWTH_SHARD_DOCS = 1_000  # documents per shard at every size: only the number of shards grows


def spec(eval_set: EvalSet) -> str:
    """The NAME=[FORMAT:]PATH that parses back to ``eval_set`` (in the child process)."""
    form = "" if eval_set.format == BENCHMARK else f"{eval_set.format}:"
    return f"{eval_set.name}={form}{eval_set.path}"


def timed_report(corpus: Path, report_dir: Path, sets: list[EvalSet]) -> dict:
    """``overlap_report`` in a fresh process: its time (evaluation sets read before the clock) and peak RSS."""
    specs = json.dumps([spec(eval_set) for eval_set in sets])
    argv = [sys.executable, "-c", OVERLAP_CHILD, str(corpus), str(report_dir), specs, str(Path(__file__).parents[1])]
    return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


def overlap_growth(root: Path, docs: int, sets: list[EvalSet], quoted: list[str]) -> None:
    """The overlap report over ``docs`` and ``10 * docs`` documents, then over the larger corpus plus one shard."""
    print(f"overlap report, corpus grown 10x ({GROWTH_SHARD_DOCS:,}-document shards, a fresh process each):")
    runs = {}
    for size in (docs, 10 * docs):
        corpus = root / f"growth-{size}"
        build_corpus(corpus, size, max(1, size // GROWTH_SHARD_DOCS), quoted, seed=size)
        runs[size] = timed_report(corpus, root / f"growth-report-{size}", sets)
        print(f"  {size:,} documents: {runs[size]['seconds']:.2f} s, peak RSS {runs[size]['peak_mb']:.0f} MB")
    small, large = runs[docs], runs[10 * docs]
    print(
        f"  time {10 * docs:,} / {docs:,}: {large['seconds'] / small['seconds']:.1f} (10: linear); "
        f"peak RSS: {large['peak_mb'] / small['peak_mb']:.2f} (1: flat)"
    )
    corpus, report_dir = root / f"growth-{10 * docs}", root / f"growth-report-{10 * docs}"
    build_corpus(corpus, GROWTH_SHARD_DOCS, 1, quoted, seed=1, first_shard=large["shards"])
    grown = timed_report(corpus, report_dir, sets)
    cache_kb = sum(path.stat().st_size for path in (report_dir / HITS_DIR).iterdir()) / 1024
    print(
        f"  + 1 shard of {GROWTH_SHARD_DOCS:,} documents: {grown['seconds']:.2f} s, {grown['shards_computed']} of "
        f"{grown['shards']} shards computed; the hits cache holds {cache_kb:,.0f} KB"
    )


JOIN_SHARDS = 10  # the same parallelism at both sizes: only the documents per shard grow


def random_text(rng: random.Random, vocabulary: list[str], words: int) -> str:
    return " ".join(rng.choices(vocabulary, k=words))


def write_dump(path: Path, articles: list[str]) -> Path:
    pages = "".join(
        f"<page><title>A{i}</title><ns>0</ns><revision><text>{text}</text></revision></page>"
        for i, text in enumerate(articles)
    )
    path.write_text(f"<mediawiki>{pages}</mediawiki>", encoding="utf-8")
    return path


def join_corpus(directory: Path, docs: int, articles: list[str], vocabulary: list[str]) -> list[Path]:
    rng = random.Random(docs)
    per_shard = docs // JOIN_SHARDS
    for shard in range(JOIN_SHARDS):
        rows = []
        for i in range(shard * per_shard, (shard + 1) * per_shard):
            text = random_text(rng, vocabulary, 200)
            if i % 100 == 0:
                text += " " + " ".join(rng.choice(articles).split()[:60])
            url = f"https://bench.test/{i}"
            rows.append(Document(document_id(url), url, "bench.test", None, text, 5, EPOCH))
        write_shard(to_table(rows, Document), directory / f"part-{shard:05d}.parquet", shard_fingerprint="bench")
    return sorted(directory.glob("part-*.parquet"))


def spark_join_growth(root: Path, article_count: int) -> None:
    from pipeline.decontaminate.spark_join import join_wikipedia
    from pipeline.spark.session import spark_session

    rng = random.Random(3)
    vocabulary = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 9))) for _ in range(20_000)]
    articles = [random_text(rng, vocabulary, 200) for _ in range(article_count)]
    reference = wikipedia_ngrams([write_dump(root / "wiki.xml", articles)], 13, root / "reference")
    print(f"spark join: reference of {article_count:,} articles, {reference.ngrams:,} 13-grams")
    cfg = DecontaminateConfig(join="spark")
    seconds_per_doc = {}
    with spark_session(cfg.spark) as spark:
        warm_up = join_corpus(root / "join-warm-up", 1_000, articles, vocabulary)
        join_wikipedia(warm_up, root / "join-out-warm-up", reference, cfg, spark)  # Python workers started
        for docs in (10_000, 100_000):
            inputs = join_corpus(root / f"join-{docs}", docs, articles, vocabulary)
            start = time.perf_counter()
            joined = join_wikipedia(inputs, root / f"join-out-{docs}", reference, cfg, spark)
            seconds = time.perf_counter() - start
            seconds_per_doc[docs] = seconds / docs
            matched = sum(1 for path in joined.matches.values() if path.stat().st_size)
            print(f"  {docs:,} documents: {seconds:.1f} s = {docs / seconds:,.0f} docs/s ({matched} match files)")
    print(f"  time per document, 100k / 10k: {seconds_per_doc[100_000] / seconds_per_doc[10_000]:.2f} (1.0: linear)")


WIKI_HEADER = (
    '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">\n'
    "  <siteinfo><sitename>Wikipedia</sitename><dbname>enwiki</dbname><base>https://en.wikipedia.org/</base>"
    "</siteinfo>\n"
)


def linked(rng: random.Random, paragraph: str) -> str:
    """A paragraph as editors mark it up: links (some piped), italics, a reference with a cite template."""
    words = paragraph.split()
    for position in sorted(rng.sample(range(len(words)), min(len(words), 6)), reverse=True):
        word = words[position].strip(".,;:")
        choice = rng.random()
        if choice < 0.6:
            words[position] = f"[[{word}]]" if choice < 0.3 else f"[[{word.title()} (topic)|{word}]]"
        elif choice < 0.8:
            words[position] = f"''{words[position]}''"
    cite = f"{{{{cite web |url=https://example.org/{rng.randint(1, 10**6)} |title={' '.join(words[:4])} |date=2019}}}}"
    return " ".join(words) + f"<ref>{cite}</ref>"


def wiki_article(rng: random.Random, title: str) -> str:
    """An article's wikitext: infobox, sections of marked-up paragraphs, a table, a file link, categories."""
    paragraphs = rng.sample(ENGLISH, rng.randint(3, 7))
    infobox = "\n".join(f"| {key} = {rng.choice(paragraphs).split()[0]}" for key in ("name", "type", "region"))
    table = "\n|-\n".join(f"| {rng.randint(1900, 2020)} || {rng.randint(1, 10**5):,}" for _ in range(4))
    sections = [f"\n== {rng.choice(('History', 'Geography', 'Economy', 'Culture'))} ==\n" for _ in paragraphs]
    body = "".join(f"{section}{linked(rng, text)}\n" for section, text in zip(sections, paragraphs, strict=True))
    return (
        f"{{{{Short description|A place}}}}\n{{{{Infobox settlement\n{infobox}\n}}}}\n"
        f"'''{title}''' is a [[town]] in the [[north]].\n{body}"
        f'\n{{| class="wikitable"\n! Year !! Population\n|-\n{table}\n|}}\n'
        f"[[File:{title}.jpg|thumb|The harbour]]\n== References ==\n{{{{Reflist}}}}\n"
        f"[[Category:Towns]] [[Category:{title}]]"
    )


def wiki_page(page_id: int, title: str, namespace: int, text: str, redirect: str = "") -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    redirect_tag = f'    <redirect title="{redirect}" />\n' if redirect else ""
    return (
        f"  <page>\n    <title>{title}</title>\n    <ns>{namespace}</ns>\n    <id>{page_id}</id>\n{redirect_tag}"
        f"    <revision>\n      <id>{page_id * 7}</id>\n      <timestamp>2019-01-01T00:00:00Z</timestamp>\n"
        f'      <model>wikitext</model>\n      <text bytes="{len(text)}" xml:space="preserve">{escaped}</text>\n'
        "    </revision>\n  </page>\n"
    )


def build_wikipedia_dump(directory: Path, articles: int) -> Path:
    """A multistream dump and its index: ``articles`` articles and, as in English Wikipedia, redirects and
    pages of other namespaces between them (40% of the pages here)."""
    rng, pages, page_id, written = random.Random(6), [], 0, 0
    while written < articles:
        page_id += 1
        title, kind = f"Town {page_id}", rng.random()
        if kind < 0.3:
            redirect = f"Town {page_id - 1}"
            pages.append((page_id, title, wiki_page(page_id, title, 0, f"#REDIRECT [[{redirect}]]", redirect)))
        elif kind < 0.4:
            pages.append((page_id, f"Talk:{title}", wiki_page(page_id, f"Talk:{title}", 1, wiki_article(rng, title))))
        else:
            pages.append((page_id, title, wiki_page(page_id, title, 0, wiki_article(rng, title))))
            written += 1
    dump = directory / "enwiki-bench-pages-articles-multistream.xml.bz2"
    directory.mkdir(parents=True, exist_ok=True)
    write_multistream(dump, WIKI_HEADER, pages, per_stream=100)
    return dump


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker processes, once their pool is shut)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def wikipedia_parsing(root: Path, articles: int) -> None:
    """Articles/s (wall clock, and per CPU second: the per-core rate, which other load on the machine does not
    move) of the single-process parser and of the multistream one with 1 and 2 workers, on the same dump."""
    dump = build_wikipedia_dump(root / "wikipedia", articles)
    print(f"wikipedia: {articles:,} articles, {dump.stat().st_size / 1e6:.1f} MB multistream dump (+ index)")
    wall, cpu = time.perf_counter(), cpu_seconds()
    expected = [words_of(text).ngrams(13) for text in article_texts(dump)]
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    print(
        f"  single-process path (iterparse over the whole dump): {articles / wall:,.0f} articles/s, "
        f"{articles / cpu:,.0f} per CPU second"
    )
    assert index_path(dump) is not None and len(expected) == articles
    for workers in (1, 2):
        start, start_cpu = time.perf_counter(), cpu_seconds()
        got = list(dump_ngrams(dump, 13, workers))
        seconds, used = time.perf_counter() - start, cpu_seconds() - start_cpu
        same = len(got) == len(expected) and all(a.tobytes() == b.tobytes() for a, b in zip(got, expected))
        assert same, f"{workers} workers: n-grams differ from the single-process path"
        print(
            f"  multistream, {workers} worker(s): {articles / seconds:,.0f} articles/s = {wall / seconds:.2f}x the "
            f"single-process path; {articles / used:,.0f} per CPU second = {cpu / used:.2f}x its (same n-grams)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--growth-docs", type=int, default=2_000, help="the overlap report's smaller corpus")
    parser.add_argument("--eval-dir", type=Path, default=SHARED_EVAL)
    parser.add_argument("--spark-join", action="store_true", help="also time the Spark join on 10k and 100k docs")
    parser.add_argument("--spark-join-only", action="store_true", help="time only the Spark join")
    parser.add_argument("--articles", type=int, default=3000, help="articles in the join's generated dump")
    parser.add_argument("--wikipedia", action="store_true", help="time only the parsing of a Wikipedia dump")
    parser.add_argument("--wiki-articles", type=int, default=20_000, help="articles in the parsed dump")
    args = parser.parse_args()
    if args.wikipedia:
        with tempfile.TemporaryDirectory(prefix="bench-decontaminate-") as scratch:
            wikipedia_parsing(Path(scratch), args.wiki_articles)
        return
    if args.spark_join_only:
        with tempfile.TemporaryDirectory(prefix="bench-decontaminate-") as scratch:
            spark_join_growth(Path(scratch), args.articles)
        return
    with tempfile.TemporaryDirectory(prefix="bench-decontaminate-") as scratch:
        root = Path(scratch)
        sets = eval_sets(args.eval_dir, root)
        texts = build_corpus(root / "docs", args.docs, args.shards, passages(sets))
        words = sum(len(text.split()) for text in texts) / len(texts)
        print(f"corpus: {len(texts):,} documents, {words:.0f} words on average; eval sets: {[s.name for s in sets]}")
        baseline, batched = time_baseline(texts, 13), time_batched_baseline(texts, 13)
        print(f"baseline (word rule + 13-gram hashes, 1 process): {len(texts) / baseline:,.0f} docs/s")
        print(f"the same hashes batched as the stage hashes them: {len(texts) / batched:,.0f} docs/s")
        for label, workers in (("1 worker", 1), ("default workers", None)):
            cfg = dataclasses.replace(DecontaminateConfig(), workers=workers)
            start = time.perf_counter()
            summary = run_decontaminate(root / "docs", root / f"out-{workers}", cfg, sets)
            seconds = time.perf_counter() - start
            rate = len(texts) / seconds
            print(
                f"stage, {label}: {rate:,.0f} docs/s = {rate * baseline / len(texts):.2f}x baseline, "
                f"{rate * batched / len(texts):.2f}x the batched hashing "
                f"(trimmed {summary.counts['trimmed']}, dropped {sum(summary.outcomes.values())}; "
                f"two overlap reports included)"
            )
        masking_cost(root, texts, sets)
        overlap_growth(root, args.growth_docs, sets, passages(sets))
        if args.spark_join:
            spark_join_growth(root, args.articles)
    print(f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
