"""``bench/extract.py --command``: the whole ``webtext extract --workers 1`` command against datatrove's extraction
call in a loop, on the same pages.

- command: ``webtext extract FETCH_DIR --out OUT --workers 1 --quiet`` as a user runs it, in a subprocess,
  timed wall-clock from its start to its exit (interpreter, imports, the worker process, WARC reads,
  decoding, extraction, Document and reject shards), once per ``dates`` setting asked for;
- fixed cost: the command on a folder of one page (start-up, imports, the worker's start, the files);
- loop: what datatrove's ``Trafilatura`` step calls for each document, ``trafilatura.extract(html,
  favor_precision=True, include_comments=False, include_tables=False, deduplicate=False)``, in a fresh
  process over the same response bodies, decoded and in memory before the clock starts: the loop alone is
  timed (and, apart, the whole process with its interpreter start and imports).

The ratio is loop seconds over command seconds: at or above 1.0 the command is at least as fast as the
bare call it is measured against (the goal of issue 27). Every timing is repeated, the kinds interleaved so
a busy neighbour on a shared machine slows all alike; the best of each is compared.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.extract.config import ExtractConfig

Page = tuple[str, bytes]  # (url, body)
COMMAND = "import sys; from pipeline.cli import main; sys.exit(main())"  # what the `webtext` script runs
LOOP_PROCESS = """\
import json, pickle, sys, time
import trafilatura
htmls = [body.decode("utf-8") for _, body in pickle.load(open(sys.argv[1], "rb"))]
wall = time.perf_counter()
for html in htmls:
    trafilatura.extract(html, favor_precision=True, include_comments=False, include_tables=False, deduplicate=False)
print(json.dumps({"loop_wall": time.perf_counter() - wall}))
"""


def html_dir_pages(folder: Path) -> list[Page]:
    """Every ``*.html`` file under ``folder`` as a page (real HTML, e.g. a Debian ``python3.11-doc`` package's).

    Pages longer than the stage's ``max_chars_per_page`` are left out: the stage cuts them, the loop would not.
    """
    limit, pages, left_out = ExtractConfig().max_chars_per_page, [], 0
    for path in sorted(folder.rglob("*.html")):
        body = path.read_bytes()
        try:
            fits = len(body.decode("utf-8")) <= limit
        except UnicodeDecodeError:
            fits = False  # the loop decodes as UTF-8, as the fetch folder declares
        if fits:
            pages.append((f"https://docs.example.org/{path.relative_to(folder).as_posix()}", body))
        left_out += not fits
    if not pages:
        raise ValueError(f"--html-dir: no UTF-8 *.html file under {folder}")
    print(f"pages: {len(pages):,} HTML files from {folder} ({left_out} longer than {limit:,} characters or not UTF-8)")
    return pages


def timed_command(fetch_dir: Path, out_dir: Path, dates: str) -> dict[str, float]:
    """One fresh run of ``webtext extract --workers 1``: wall seconds of the whole process, documents written."""
    shutil.rmtree(out_dir, ignore_errors=True)
    arguments = [str(fetch_dir), "--out", str(out_dir), "--workers", "1", "--dates", dates, "--quiet"]
    wall = time.perf_counter()
    subprocess.run([sys.executable, "-c", COMMAND, "extract", *arguments], check=True, capture_output=True)
    wall = time.perf_counter() - wall
    summary = json.loads((out_dir / "summary.json").read_text())
    return {"wall": wall, "documents": summary["counts"]["documents"]}


def timed_loop(pages_file: Path) -> dict[str, float]:
    """datatrove's call in a loop in a fresh process: the loop's wall seconds, and the whole process's."""
    wall = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LOOP_PROCESS, str(pages_file)], capture_output=True, check=True)
    return {"process_wall": time.perf_counter() - wall, **json.loads(done.stdout)}


def run(pages: list[Page], write_fetch_dir: Callable[[Path, list[Page]], None], repeats: int, dates: list[str]) -> None:
    """Build the fetch folder (as ``bench/extract.py`` does), time both sides ``repeats`` times, print the ratios."""
    runs: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-extract-command-") as scratch:
        fetch_dir, out_dir, pages_file = Path(scratch) / "fetch", Path(scratch) / "out", Path(scratch) / "pages.pickle"
        one_page_dir = Path(scratch) / "one-page"
        write_fetch_dir(fetch_dir, pages)
        write_fetch_dir(one_page_dir, pages[:1])
        pages_file.write_bytes(pickle.dumps(pages))
        for _ in range(repeats):
            runs.setdefault("loop", []).append(timed_loop(pages_file))
            for setting in dates:
                runs.setdefault(setting, []).append(timed_command(fetch_dir, out_dir, setting))
            runs.setdefault("one_page", []).append(timed_command(one_page_dir, out_dir, dates[0]))
    report(runs, len(pages), dates)


def report(runs: dict[str, list[dict[str, float]]], count: int, dates: list[str]) -> None:
    """Best of the repeats, the range in brackets; ratios between the best figures."""
    loop = min(run["loop_wall"] for run in runs["loop"])
    process = min(run["process_wall"] for run in runs["loop"])
    print(f"{count:,} pages, {os.cpu_count()} cores, best of {len(runs['loop'])} (range)")
    print(f"  trafilatura.extract loop (datatrove's call): {loop:.2f} s ({1000 * loop / count:.1f} ms/page); ", end="")
    print(f"its whole process {process:.2f} s")
    one_page = min(run["wall"] for run in runs["one_page"])
    print(f"  fixed cost: the command on one page {one_page:.2f} s; ", end="")
    print(f"the loop's process beyond its loop {process - loop:.2f} s")
    for setting in dates:
        walls = [run["wall"] for run in runs[setting]]
        best = min(walls)
        print(
            f"  webtext extract --workers 1 --dates {setting}: {best:.2f} s ({min(walls):.2f}-{max(walls):.2f}), "
            f"{runs[setting][0]['documents']:,.0f} documents; ratio loop/command {loop / best:.2f} "
            f"(loop process/command {process / best:.2f}; goal >= 1.0)"
        )
