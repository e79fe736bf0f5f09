"""The extract stage against each backend's extractor alone in a loop, in the same kind of process.

For each backend (trafilatura, the default, and resiliparse), on the same synthetic pages:

- stage: ``run_extract`` with one worker process, as a user runs it (WARC reads, decoding, the
  supervised worker and its pipe, Document and reject shards), timed from the call to its return;
- alone: the extractor alone in a loop (decode the body, call the library, nothing else) in a fresh
  process of its own, so both sides pay an interpreter start and the library's import: the
  comparison the overhead goal (<= 10%) is about;
- warm: the same loop inside this already-warm process, the floor neither side reaches.

It prints the best of the repeats (their range in brackets: the machine may be shared) of pages/s
and CPU milliseconds per page (the stage's worker against the alone process; the stage's parent
process runs beside the worker on another core and is shown apart), the overhead in wall time and
in CPU, and the CPU per page beyond the fixed start-up of each side (a run of 20 pages is all
start-up: interpreter, imports, the library's first calls). Then where the worker's CPU goes, part
by part, on the first pages in this warm process: reading the record back from the WARC file,
decoding, the library alone, the backend's own work around it (paragraphs; resiliparse's title and
date), the rest of the page's rules, and pickling the result for the parent. Last, the two backends'
agreement, with the texts the stage writes: mean Jaccard of the lower-cased word sets, and the share
of pages both keep or both drop at ``min_words``, on the synthetic corpus and on the bundled sample
web's pages.

The corpus is synthetic but built from the sample's page templates (news with cookie banner,
navigation, related stories and comments; blogs with unclosed tags; encyclopedia entries;
spam; thin pages) with varied text: paragraphs drawn from the sample's articles, reshuffled
and with words substituted, so no two pages are the same.

    python bench/extract.py [--pages 2000] [--repeats 3] [--backend trafilatura --backend resiliparse]

``--command`` times the whole ``webtext extract --workers 1`` command against datatrove's
``trafilatura.extract`` call in a loop instead (see ``extract_command``), on the synthetic pages or on
real ones (``--html-dir``: every ``*.html`` under a folder), for each ``--dates`` setting:

    python bench/extract.py --command --pages 500 [--html-dir DIR] [--dates meta --dates full]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import extract_command  # this folder's: the --command mode
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.extract.archive import OpenArchive, read_response_body
from pipeline.extract.backends import RESILIPARSE_SETTINGS, TRAFILATURA_SETTINGS
from pipeline.extract.config import BACKENDS, DATES, ExtractConfig
from pipeline.extract.html_text import count_words, decode_body, extract_page, resolve_extractor
from pipeline.extract.pages import PageHandler
from pipeline.extract.stage import ShardExtraction, pages_shards, run_extract
from pipeline.records import FetchRecord, to_table
from pipeline.sample import site
from pipeline.sample.corpus import ARTICLES, Article
from pipeline.sample.web import build_routes
from pipeline.shards import write_shard

UTF8_HTML = "text/html; charset=utf-8"
SHARD_PAGES = 500
STARTUP_PAGES = 20  # a run this small is all fixed cost: worker start, imports, warm-up
WARM_UP_PAGES = 20
BREAKDOWN_PAGES = 500
PARTS_BATCH = 20  # pages per turn of each part in the breakdown
TOKEN = re.compile(r"\w+")
Page = tuple[str, bytes]  # (url, body)
# The extractor alone, as each library documents it (the stage's settings, its plain text output).
ALONE = {
    "trafilatura": (
        "import trafilatura",
        f"lambda html, url: getattr(trafilatura.bare_extraction(html, url=url, **{TRAFILATURA_SETTINGS}), 'text', 0)",
    ),
    "resiliparse": (
        "from resiliparse.extract.html2text import extract_plain_text",
        f"lambda html, url: extract_plain_text(html, **{RESILIPARSE_SETTINGS!r})",
    ),
}
# A fresh process: import the library (CPU counted from the interpreter's start), load the pages (not
# counted), then the loop (its first pages pay the library's set-up, as the stage's first pages do).
# Prints its CPU seconds and the loop's wall seconds as JSON.
ALONE_PROCESS = """\
import json, pickle, resource, sys, time
{imports}
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
extract = {extract}
startup_cpu = cpu()
pages = pickle.load(open(sys.argv[1], "rb"))
wall, loop_cpu = time.perf_counter(), cpu()
for url, body in pages:
    extract(body.decode("utf-8"), url)
wall, loop_cpu = time.perf_counter() - wall, cpu() - loop_cpu
print(json.dumps({{"startup_cpu": startup_cpu, "loop_cpu": loop_cpu, "loop_wall": wall}}))
"""


def _varied_article(rng: random.Random, pool: list[str], words: list[str], kind: str) -> Article:
    """An article of 3-9 paragraphs from ``pool``, every ~8th word substituted."""
    paragraphs = []
    for paragraph in rng.sample(pool, rng.randint(3, 9)):
        tokens = paragraph.split()
        for position in range(rng.randrange(8), len(tokens), 8):
            tokens[position] = rng.choice(words)
        paragraphs.append(" ".join(tokens))
    title = " ".join(rng.choice(words).capitalize() for _ in range(rng.randint(3, 7)))
    return Article(f"page-{rng.getrandbits(48):x}", title, "en", kind, tuple(paragraphs))


def synthetic_pages(count: int, seed: int = 7) -> list[Page]:
    """``count`` HTML pages in a crawl-like mix of templates, as (url, body)."""
    rng = random.Random(seed)
    english = [article for article in ARTICLES if article.kind in ("article", "wikipedia")]
    pool = [paragraph for article in english for paragraph in article.paragraphs if len(paragraph.split()) > 20]
    words = sorted({word for paragraph in pool for word in TOKEN.findall(paragraph) if len(word) > 3})
    by_kind = {kind: [article for article in ARTICLES if article.kind == kind] for kind in ("spam", "thin", "foreign")}
    pages = []
    for index in range(count):
        roll, date = rng.random(), f"2019-{1 + index % 12:02d}-{1 + index % 28:02d}"
        if roll < 0.45:
            html = site.news_page(_varied_article(rng, pool, words, "article"), "The Daily Bench", date, rng)
        elif roll < 0.75:
            html = site.blog_page(_varied_article(rng, pool, words, "article"), "Bench Notes", date, rng)
        elif roll < 0.85:
            html = site.wiki_page(_varied_article(rng, pool, words, "wikipedia"), "Wikipedia")
        elif roll < 0.90:
            html = site.news_page(rng.choice(by_kind["foreign"]), "World Bench", date, rng)
        elif roll < 0.95:
            html = site.spam_page(rng.choice(by_kind["spam"]), rng)
        else:
            html = site.thin_page(rng.choice(by_kind["thin"]))
        pages.append((f"http://bench{index % 50}.example.com/{index}/story", html.encode("utf-8")))
    return pages


def _archive(writer: WARCWriter, url: str, body: bytes) -> int:
    http_request = StatusAndHeaders("GET / HTTP/1.1", [("User-Agent", "bench")], is_http_request=True)
    writer.write_record(writer.create_warc_record(url, "request", payload=io.BytesIO(b""), http_headers=http_request))
    http_response = StatusAndHeaders("200 OK", [("Content-Type", UTF8_HTML)], protocol="HTTP/1.1")
    response = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http_response)
    offset = writer.out.tell()
    writer.write_record(response)
    return offset


def write_fetch_dir(fetch_dir: Path, pages: list[Page]) -> None:
    """Pages as the fetch stage leaves them: a WARC file and a pages shard per batch of ``SHARD_PAGES``."""
    fetched_at = datetime(2019, 6, 1, tzinfo=UTC)
    (fetch_dir / "warc").mkdir(parents=True)
    for batch, start in enumerate(range(0, len(pages), SHARD_PAGES)):
        name = f"part-00000-{batch:05d}"
        records = []
        with open(fetch_dir / "warc" / f"{name}.warc.gz", "wb") as handle:
            writer = WARCWriter(handle, gzip=True)
            for url, body in pages[start : start + SHARD_PAGES]:
                offset = _archive(writer, url, body)
                records.append(
                    FetchRecord(
                        url,
                        url,
                        200,
                        UTF8_HTML,
                        "utf-8",
                        len(body),
                        f"warc/{name}.warc.gz",
                        offset,
                        fetched_at,
                        "ok",
                        5,
                        1,
                    )
                )
        write_shard(to_table(records, FetchRecord), fetch_dir / "pages" / f"{name}.parquet", shard_fingerprint=name)


def sample_web_pages() -> list[Page]:
    """The bundled sample's HTML pages that decode as declared (the ones both extractors can be fed)."""
    pages = []
    for route in build_routes():
        if route.status == 200 and route.body and route.content_type == UTF8_HTML:
            try:
                route.body.decode("utf-8")
            except UnicodeDecodeError:
                continue
            pages.append((route.url, route.body))
    return pages


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_alone(backend: str, pages_file: Path) -> dict[str, float]:
    """The extractor alone in a fresh process: wall seconds of the whole process, and its CPU (start-up, loop)."""
    imports, extract = ALONE[backend]
    code = ALONE_PROCESS.format(imports=imports, extract=extract)
    wall = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, str(pages_file)], capture_output=True, text=True, check=True)
    timing = json.loads(done.stdout)
    return {"wall": time.perf_counter() - wall, "cpu": timing["startup_cpu"] + timing["loop_cpu"], **timing}


def timed_warm(backend: str, pages: list[Page]) -> dict[str, float]:
    """The extractor alone in this (warm) process: CPU and wall seconds of the loop."""
    imports, extract_source = ALONE[backend]
    namespace: dict = {}
    exec(imports, namespace)  # the very import and call the fresh process runs (constants of this file)
    extract = eval(extract_source, namespace)
    for url, body in pages[:WARM_UP_PAGES]:
        extract(body.decode("utf-8"), url)
    cpu, wall = time.process_time(), time.perf_counter()
    for url, body in pages:
        extract(body.decode("utf-8"), url)
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def timed_stage(backend: str, fetch_dir: Path, out_dir: Path, workers: int = 1) -> dict[str, float]:
    """One fresh run of the stage: wall seconds, CPU seconds of the parent and of the worker(s), documents."""
    shutil.rmtree(out_dir, ignore_errors=True)
    cpu, children, wall = time.process_time(), _children_cpu(), time.perf_counter()
    summary = run_extract(fetch_dir, out_dir, ExtractConfig(backend=backend, workers=workers))
    return {
        "wall": time.perf_counter() - wall,
        "parent_cpu": time.process_time() - cpu,
        "worker_cpu": _children_cpu() - children,
        "documents": summary.counts["documents"],
    }


def stage_texts(backend: str, pages: list[Page]) -> list[str]:
    """What the stage writes for each page ('' for a page it drops), computed in this process."""
    rules = ExtractConfig(backend=backend).page_rules()
    results = [extract_page(body, UTF8_HTML, "utf-8", url, rules) for url, body in pages]
    return [result.text if not isinstance(result, str) else "" for result in results]


def agreement(first: list[str], second: list[str], min_words: int) -> tuple[float, float]:
    """(mean Jaccard of word sets over pages either keeps, share of pages both keep or both drop)."""
    jaccards, same_decision = [], 0
    for text_a, text_b in zip(first, second, strict=True):
        tokens_a, tokens_b = set(TOKEN.findall(text_a.lower())), set(TOKEN.findall(text_b.lower()))
        if tokens_a or tokens_b:
            jaccards.append(len(tokens_a & tokens_b) / len(tokens_a | tokens_b))
        same_decision += (count_words(text_a) >= min_words) == (count_words(text_b) >= min_words)
    return sum(jaccards) / max(len(jaccards), 1), same_decision / max(len(first), 1)


def timed_parts(backend: str, fetch_dir: Path, count: int) -> dict[str, float]:
    """CPU seconds of each part of the worker's work on the first ``count`` pages, in this (warm) process.

    The parts are the calls ``extract_task`` makes: the record read back and checked, decoding,
    the library alone (as the alone process calls it), the backend function (the library and its
    own work around it), the whole page (``extract_page``: decoding, backend, words rule), the
    whole task (read and page); and pickling the results. They take turns over batches of a few
    pages (in reverse order every other batch), so a busy neighbour slows all of them alike.
    """
    extraction = ShardExtraction(pages_shards(fetch_dir)[0], fetch_dir, fetch_dir / "unused", "bench")
    tasks, handler = extraction.tasks()[:count], PageHandler(ExtractConfig(backend=backend).page_rules())
    archive, rules, extractor = OpenArchive(), handler.rules, resolve_extractor(handler.rules.extractor)
    namespace: dict = {}
    exec(ALONE[backend][0], namespace)
    alone = eval(ALONE[backend][1], namespace)
    results = [handler(task) for task in tasks]  # also the warm-up
    bodies = [read_response_body(task.warc_path, task.warc_offset, archive, task.read_bytes) for task in tasks]
    texts = [decode_body(body, task.charset)[0] for body, task in zip(bodies, tasks, strict=True)]
    calls: dict[str, tuple[Callable, list[tuple]]] = {
        "read": (read_response_body, [(t.warc_path, t.warc_offset, archive, t.read_bytes) for t in tasks]),
        "decode": (decode_body, [(body, task.charset) for body, task in zip(bodies, tasks, strict=True)]),
        "library": (alone, [(text, task.url) for text, task in zip(texts, tasks, strict=True)]),
        "backend": (extractor, [(text, task.url, rules.dates) for text, task in zip(texts, tasks, strict=True)]),
        "page": (extract_page, [(b, t.content_type, t.charset, t.url, rules) for b, t in zip(bodies, tasks)]),
        "task": (handler, [(task,) for task in tasks]),
    }
    cpu = dict.fromkeys(calls, 0.0)
    for turn, start in enumerate(range(0, len(tasks), PARTS_BATCH)):
        for part in list(calls)[:: 1 if turn % 2 else -1]:
            function, arguments = calls[part]
            started = time.process_time()
            for call in arguments[start : start + PARTS_BATCH]:
                function(*call)
            cpu[part] += time.process_time() - started
    started = time.process_time()
    pickle.dumps(results, pickle.HIGHEST_PROTOCOL)
    return {**cpu, "pickle": time.process_time() - started, "pages": float(len(tasks))}


def measure(pages: list[Page], backends: list[str], repeats: int) -> dict[str, dict[str, list[dict]]]:
    """Every timing ``repeats`` times, interleaved so a noisy neighbour on a shared machine hits all alike."""
    runs: dict[str, dict[str, list[dict]]] = {backend: {} for backend in backends}
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as scratch:
        fetch_dir, small_dir, out_dir = Path(scratch) / "fetch", Path(scratch) / "small", Path(scratch) / "out"
        pages_file, small_file = Path(scratch) / "pages.pickle", Path(scratch) / "small.pickle"
        pages_file.write_bytes(pickle.dumps(pages))
        small_file.write_bytes(pickle.dumps(pages[:STARTUP_PAGES]))
        write_fetch_dir(fetch_dir, pages)
        write_fetch_dir(small_dir, pages[:STARTUP_PAGES])
        for _ in range(repeats):
            for backend in backends:
                timings = runs[backend]
                timings.setdefault("alone", []).append(timed_alone(backend, pages_file))
                timings.setdefault("stage", []).append(timed_stage(backend, fetch_dir, out_dir))
                timings.setdefault("startup", []).append(timed_stage(backend, small_dir, out_dir))
                timings.setdefault("alone_startup", []).append(timed_alone(backend, small_file))
                timings.setdefault("warm", []).append(timed_warm(backend, pages))
                timings.setdefault("parts", []).append(timed_parts(backend, fetch_dir, BREAKDOWN_PAGES))
    return runs


def _figure(values: list[float], best: float, digits: int = 1, unit: str = "") -> str:
    """``best`` (the figure least disturbed by the neighbours of a shared machine), then the range over repeats."""
    low, high = min(values), max(values)
    spread = f" ({low:.{digits}f}-{high:.{digits}f})" if len(values) > 1 else ""
    return f"{best:.{digits}f}{unit}{spread}"


def report_speed(backend: str, timings: dict[str, list[dict]], count: int) -> None:
    """Best of the repeats (range in brackets); ratios and overheads are between the best figures."""
    stage, alone, warm, startup = (timings[kind] for kind in ("stage", "alone", "warm", "startup"))

    def best(runs: list[dict], key: str) -> float:
        return min(run[key] for run in runs)

    def rate(runs: list[dict]) -> str:
        return _figure([count / run["wall"] for run in runs], count / best(runs, "wall"))

    def per_page(runs: list[dict], key: str) -> str:
        return _figure([1000 * run[key] / count for run in runs], 1000 * best(runs, key) / count, 2)

    print(f"[{backend}] the stage keeps {stage[0]['documents']:,} documents; best of {len(stage)} (range)")
    print(f"  stage, 1 worker:          {rate(stage)} pages/s")
    print(f"  extractor alone (fresh):  {rate(alone)} pages/s")
    print(f"  extractor alone (warm):   {rate(warm)} pages/s")
    print(f"  speed ratio stage/alone:  {best(alone, 'wall') / best(stage, 'wall'):.2f}")
    print(f"  CPU ms per page: stage worker {per_page(stage, 'worker_cpu')} + parent {per_page(stage, 'parent_cpu')}")
    print(f"                   alone {per_page(alone, 'cpu')} (start-up {best(alone, 'startup_cpu'):.2f} s)", end="")
    print(f"; warm loop {per_page(warm, 'cpu')}")
    wall = 100 * (best(stage, "wall") / best(alone, "wall") - 1)
    cpu = 100 * (best(stage, "worker_cpu") / best(alone, "cpu") - 1)
    print(f"  stage overhead vs alone: {wall:+.1f}% wall, {cpu:+.1f}% worker CPU (goal <= 10%)")
    fixed, alone_fixed = best(startup, "worker_cpu"), best(timings["alone_startup"], "cpu")  # 20-page runs
    stage_beyond = 1000 * (best(stage, "worker_cpu") - fixed) / (count - STARTUP_PAGES)
    alone_beyond = 1000 * (best(alone, "cpu") - alone_fixed) / (count - STARTUP_PAGES)
    beyond = 100 * (stage_beyond / alone_beyond - 1)
    print(f"  start-up ({STARTUP_PAGES}-page runs): worker {fixed:.2f} s CPU, alone {alone_fixed:.2f} s;")
    print(f"  CPU per page beyond it: worker {stage_beyond:.2f} ms, alone {alone_beyond:.2f} ms ({beyond:+.1f}%)")


def report_parts(runs: list[dict[str, float]]) -> None:
    """Per-page CPU of each part of the worker's work, best of the repeats; the parts add up, each row includes
    the ones above it that it names."""
    best = {part: min(run[part] for run in runs) for part in runs[0]}
    count = int(best.pop("pages"))
    ms = {part: 1000 * seconds / count for part, seconds in best.items()}
    print(f"  where the worker's CPU goes, ms per page (first {count} pages, warm, best of {len(runs)}):")
    print(f"    WARC record read back and checked {ms['read']:.3f}, decoding {ms['decode']:.3f}, ", end="")
    print(f"result pickled for the parent {ms['pickle']:.3f}")
    print(
        f"    the library alone {ms['library']:.3f}; the backend (library, paragraphs, title, date) {ms['backend']:.3f}"
    )
    print(f"    the page (decoding, backend, words rule) {ms['page']:.3f}; the task (read, page) {ms['task']:.3f}")
    beyond = ms["task"] + ms["pickle"] - ms["library"]
    print(f"    the worker's own work beyond the library: {beyond:.3f} ms ({100 * beyond / ms['library']:+.0f}%)")


def report_agreement(pages: list[Page]) -> None:
    min_words, sample = ExtractConfig().min_words, sample_web_pages()
    for label, corpus in (("the synthetic corpus", pages), (f"the sample web ({len(sample)} pages)", sample)):
        jaccard, decisions = agreement(
            stage_texts("trafilatura", corpus), stage_texts("resiliparse", corpus), min_words
        )
        print(f"agreement on {label}: mean word-set Jaccard {jaccard:.3f}, same keep/drop {decisions:.1%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="pages in the synthetic corpus")
    parser.add_argument("--repeats", type=int, default=3, help="timings of each kind (best and range reported)")
    parser.add_argument("--backend", action="append", choices=tuple(BACKENDS), help="default: both")
    parser.add_argument("--no-agreement", action="store_true", help="timings only")
    parser.add_argument("--command", action="store_true", help="the whole command against datatrove's call")
    parser.add_argument("--html-dir", type=Path, help="--command: real pages, every *.html under this folder")
    parser.add_argument("--dates", action="append", choices=DATES, help="--command: settings to time (default: meta)")
    args = parser.parse_args()
    if args.command:
        pages = extract_command.html_dir_pages(args.html_dir) if args.html_dir else synthetic_pages(args.pages)
        extract_command.run(pages, write_fetch_dir, args.repeats, args.dates or ["meta"])
        return 0
    pages = synthetic_pages(args.pages)
    html_mb = sum(len(body) for _, body in pages) / 1e6
    shards = -(-len(pages) // SHARD_PAGES)
    print(
        f"corpus: {len(pages):,} synthetic pages ({html_mb:.1f} MB of HTML) in {shards} shards; {os.cpu_count()} cores"
    )
    backends = args.backend or list(BACKENDS)
    for backend, timings in measure(pages, backends, args.repeats).items():
        report_speed(backend, timings, len(pages))
        report_parts(timings["parts"])
    if not args.no_agreement:
        report_agreement(pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
