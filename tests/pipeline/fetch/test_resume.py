"""A fetch killed with SIGKILL mid-run and rerun loses no URL, records none twice, refetches no finished batch."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.parquet as pq
from fetch_hostile_web import SITE_FILES

from pipeline.fetch.warc import responses

REPO_ROOT = Path(__file__).resolve().parents[3]
STAGE_SCRIPT = """
import json, sys
from pathlib import Path
from pipeline.fetch.config import FetchConfig
from pipeline.fetch.stage import run_fetch
settings = json.loads(sys.argv[3])
settings["content_types"] = tuple(settings["content_types"])
run_fetch(Path(sys.argv[1]), Path(sys.argv[2]), FetchConfig(**settings))
"""
URL_COUNT, BATCH_SIZE = 300, 40
BATCHES = -(-URL_COUNT // BATCH_SIZE)


def start_stage(urls_dir: Path, out_dir: Path, settings: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", STAGE_SCRIPT, str(urls_dir), str(out_dir), json.dumps(settings)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def kill_after_first_commit(process: subprocess.Popen, pages_dir: Path, limit_s: float = 60) -> list[Path]:
    """SIGKILL ``process`` as soon as one pages shard is complete; returns the complete shards."""
    deadline = time.monotonic() + limit_s
    while not list(pages_dir.glob("*.stats.json")):
        assert process.poll() is None, "the stage ended before committing a batch"
        assert time.monotonic() < deadline, "no batch committed in time"
        time.sleep(0.01)
    process.kill()
    assert process.wait(timeout=10) == -9
    return sorted(
        stats.with_name(stats.name.removesuffix(".stats.json") + ".parquet") for stats in pages_dir.glob("*.stats.json")
    )


def test_killed_run_resumes_without_loss_or_duplicates(hostile, crawl) -> None:
    hosts = [f"resume-{index}.test" for index in range(30)]
    urls = [hostile.url(hosts[index % len(hosts)], f"/page/resume-{index}?delay=0.05") for index in range(URL_COUNT)]
    settings = {"batch_size": BATCH_SIZE, "concurrency": 8}
    cfg = crawl.config(urls, **settings)
    out = crawl.root / "resume"
    process = start_stage(crawl.write_urls(urls, "resume"), out, dataclasses.asdict(cfg))
    committed = kill_after_first_commit(process, out / "pages")
    assert 1 <= len(committed) < BATCHES, "the kill must land mid-run"
    committed_urls = {url for shard in committed for url in pq.read_table(shard)["url"].to_pylist()}

    result = crawl(urls, out="resume", **settings)  # asserts every URL once and the archived bodies

    assert (result.summary.units, result.summary.units_skipped) == (BATCHES, len(committed))
    assert set(result.outcomes().values()) == {"ok"}
    hits = Counter(hostile.url(hit.host, hit.path) for hit in hostile.hits if hit.host in hosts)
    assert all(hits[url] == 1 for url in committed_urls), "a batch committed before the kill was fetched again"
    assert all(hits[url] >= 1 for url in urls)
    assert list(out.rglob("*.tmp")) == []
    archived = Counter(url for warc in sorted((out / "warc").glob("*.warc.gz")) for url, _ in responses(warc))
    pages = Counter({url: count for url, count in archived.items() if urlsplit(url).path not in SITE_FILES})
    assert pages == Counter(urls)  # one response record per ok row, none left over from the killed run
    assert len(list((out / "warc").glob("*.warc.gz"))) == BATCHES
