"""Extract throughput against trafilatura alone, and resiliparse side by side, measured in the same run.

Speed: pages/s of the whole extract stage with one worker process (WARC reads, decoding,
the supervised worker and its pipe, Document and reject shards) against a plain loop that
decodes each body and calls ``trafilatura.bare_extraction`` with the same settings on the
same pages, in memory. Goal: the stage's overhead <= 10%. CPU seconds (parent + worker) are
reported too, since the stage's parent process runs beside its worker: pages per CPU-second
is the per-core figure.

Resiliparse: ``extract_plain_text(main_content=True, comments=False)`` over the same pages:
its pages/s, and its agreement with trafilatura per page (mean Jaccard of the lower-cased
word sets, and the share of pages both keep or both drop at ``min_words``), on the synthetic
corpus and on the bundled sample web's pages.

The corpus is synthetic but built from the sample's page templates (news with cookie banner,
navigation, related stories and comments; blogs with unclosed tags; encyclopedia entries;
spam; thin pages) with varied text: paragraphs drawn from the sample's articles, reshuffled
and with words substituted, so no two pages are the same.

    python bench/extract.py [--pages 2000] [--repeats 3] [--workers N]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.extract.config import ExtractConfig
from pipeline.extract.html_text import TRAFILATURA_SETTINGS, count_words
from pipeline.extract.stage import run_extract
from pipeline.records import FetchRecord, to_table
from pipeline.sample import site
from pipeline.sample.corpus import ARTICLES, Article
from pipeline.sample.web import build_routes
from pipeline.shards import write_shard

UTF8_HTML = "text/html; charset=utf-8"
SHARD_PAGES = 500
STARTUP_PAGES = 20  # a run this small is all fixed cost: worker start, imports, warm-up
TOKEN = re.compile(r"\w+")
Page = tuple[str, bytes]  # (url, body)


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


def trafilatura_text(html: str, url: str) -> str:
    import trafilatura

    document = trafilatura.bare_extraction(html, url=url, **TRAFILATURA_SETTINGS)
    return document.text if document is not None and document.text else ""


def resiliparse_text(html: str, url: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True, comments=False, alt_texts=False)


def timed_loop(extractor: Callable[[str, str], str], pages: list[Page]) -> tuple[float, float, list[str]]:
    """(wall seconds, CPU seconds, texts) of decoding and extracting every page in this process."""
    for url, body in pages[:20]:  # warm up: the first calls load stop lists and caches
        extractor(body.decode("utf-8"), url)
    cpu, wall = time.process_time(), time.perf_counter()
    texts = [extractor(body.decode("utf-8"), url) for url, body in pages]
    return time.perf_counter() - wall, time.process_time() - cpu, texts


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_stage(fetch_dir: Path, out_dir: Path, workers: int | None) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds of the parent, CPU seconds of the workers, documents) of one fresh run."""
    shutil.rmtree(out_dir, ignore_errors=True)
    cpu, children, wall = time.process_time(), _children_cpu(), time.perf_counter()
    summary = run_extract(fetch_dir, out_dir, ExtractConfig(workers=workers))
    elapsed = time.perf_counter() - wall
    return elapsed, time.process_time() - cpu, _children_cpu() - children, summary.counts["documents"]


def agreement(first: list[str], second: list[str], min_words: int) -> tuple[float, float]:
    """(mean Jaccard of word sets over pages either keeps, share of pages both keep or both drop)."""
    jaccards, same_decision = [], 0
    for text_a, text_b in zip(first, second, strict=True):
        tokens_a, tokens_b = set(TOKEN.findall(text_a.lower())), set(TOKEN.findall(text_b.lower()))
        if tokens_a or tokens_b:
            jaccards.append(len(tokens_a & tokens_b) / len(tokens_a | tokens_b))
        same_decision += (count_words(text_a) >= min_words) == (count_words(text_b) >= min_words)
    return sum(jaccards) / max(len(jaccards), 1), same_decision / max(len(first), 1)


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


def measure(pages: list[Page], repeats: int, workers: int | None) -> dict[str, tuple]:
    """Best-of-``repeats`` timings, interleaved so a noisy neighbour on a shared machine hits all alike."""
    runs: dict[str, list[tuple]] = {"trafilatura": [], "stage": [], "startup": [], "resiliparse": []}
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as scratch:
        fetch_dir, small_dir, out_dir = Path(scratch) / "fetch", Path(scratch) / "small", Path(scratch) / "out"
        write_fetch_dir(fetch_dir, pages)
        write_fetch_dir(small_dir, pages[:STARTUP_PAGES])
        for _ in range(repeats):
            runs["trafilatura"].append(timed_loop(trafilatura_text, pages))
            runs["stage"].append(timed_stage(fetch_dir, out_dir, 1))
            runs["startup"].append(timed_stage(small_dir, out_dir, 1))
            runs["resiliparse"].append(timed_loop(resiliparse_text, pages))
        best = {name: min(timings, key=lambda timing: timing[0]) for name, timings in runs.items()}
        if workers:
            best["parallel"] = timed_stage(fetch_dir, out_dir, workers)
    return best


def report_speed(best: dict[str, tuple], count: int, workers: int | None) -> None:
    base, stage, startup, resilient = best["trafilatura"], best["stage"], best["startup"], best["resiliparse"]
    stage_cpu = stage[1] + stage[2]
    print(f"trafilatura alone (loop):  {count / base[0]:8.1f} pages/s  ({count / base[1]:.1f} pages per CPU-s)")
    print(
        f"extract stage, 1 worker:   {count / stage[0]:8.1f} pages/s  ({count / stage_cpu:.1f} pages per CPU-s), "
        f"{stage[3]:,} documents"
    )
    print(
        f"  CPU per page: trafilatura loop {1000 * base[1] / count:.2f} ms; stage worker "
        f"{1000 * stage[2] / count:.2f} ms + parent {1000 * stage[1] / count:.2f} ms"
    )
    if "parallel" in best:
        print(f"extract stage, {workers} workers:  {count / best['parallel'][0]:8.1f} pages/s")
    print(
        f"resiliparse (loop):        {count / resilient[0]:8.1f} pages/s  ({count / resilient[1]:.1f} pages per CPU-s)"
    )
    marginal = (stage[0] - startup[0]) / (count - STARTUP_PAGES) / (base[0] / count)
    print(
        f"stage overhead vs trafilatura: {100 * (stage[0] / base[0] - 1):+.1f}% wall, "
        f"{100 * (stage_cpu / base[1] - 1):+.1f}% CPU (goal <= 10%)"
    )
    print(
        f"  of which fixed start-up: {startup[0]:.2f} s (a whole run of {STARTUP_PAGES} pages); "
        f"per page beyond it: {100 * (marginal - 1):+.1f}%"
    )
    print(f"speed ratio resiliparse/trafilatura: {base[0] / resilient[0]:.1f}x")


def report_agreement(trafilatura_texts: list[str], resiliparse_texts: list[str]) -> None:
    min_words = ExtractConfig().min_words
    jaccard, decisions = agreement(trafilatura_texts, resiliparse_texts, min_words)
    print(f"agreement on the synthetic corpus: mean word-set Jaccard {jaccard:.3f}, same keep/drop {decisions:.1%}")
    sample = sample_web_pages()
    sample_trafilatura = [trafilatura_text(body.decode("utf-8"), url) for url, body in sample]
    sample_resiliparse = [resiliparse_text(body.decode("utf-8"), url) for url, body in sample]
    jaccard, decisions = agreement(sample_trafilatura, sample_resiliparse, min_words)
    print(
        f"agreement on the sample web ({len(sample)} pages): mean word-set Jaccard {jaccard:.3f}, "
        f"same keep/drop {decisions:.1%}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="pages in the synthetic corpus")
    parser.add_argument("--repeats", type=int, default=5, help="best of N timings")
    parser.add_argument("--workers", type=int, default=None, help="also time the stage with N workers (all cores)")
    args = parser.parse_args()
    pages = synthetic_pages(args.pages)
    html_mb = sum(len(body) for _, body in pages) / 1e6
    shards = -(-len(pages) // SHARD_PAGES)
    print(
        f"corpus: {len(pages):,} synthetic pages ({html_mb:.1f} MB of HTML) in {shards} shards; {os.cpu_count()} cores"
    )
    best = measure(pages, args.repeats, args.workers)
    report_speed(best, len(pages), args.workers)
    report_agreement(best["trafilatura"][2], best["resiliparse"][2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
