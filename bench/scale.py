"""How the data half grows: extract → dedup → filter → tokenize on N and on 10·N pages.

The pages are ``bench/extract.py``'s synthetic corpus (the sample's page templates with varied text: news with
cookie banners and comments, blogs with unclosed tags, encyclopedia entries, foreign, spam and thin pages),
archived as the fetch stage lays them out (WARC files of 500 pages and their pages shards). Each stage runs as
``webtext <stage>`` with its defaults, one subprocess, timed as a whole process tree (the Spark JVM and the
workers included): wall time, CPU seconds and the peak of the tree's summed RSS (``bench/peer_datatrove.py``'s
``measure``).

Printed per stage: the time at N and at 10·N and the growth exponent ``log(t10N / tN) / log(10)`` (1.0 is
linear; goal ≤ 1.1, so no stage is worse than linear), and the peak RSS at both sizes with their ratio (goal:
flat, ≤ 1.25). A stage with a fixed start-up (Spark's JVM) shows an exponent below 1 at small N: its fixed cost
is spread over more pages. CPU seconds are the steadier figure on a shared machine; the exponent is printed for
both wall and CPU time.

    python bench/scale.py [--pages 1000] [--factor 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/extract.py and bench/peer_datatrove.py, beside this file
from extract import synthetic_pages, write_fetch_dir
from peer_datatrove import SHARED_GPT2, StageRun, measure, webtext_cli

STAGES = ("extract", "dedup", "filter", "tokenize")
INPUTS = {"extract": "fetch", "dedup": "extract", "filter": "dedup", "tokenize": "filter"}
GROWTH_GOAL, RSS_GOAL = 1.1, 1.25


def run_size(pages: int, work: Path, env: dict[str, str]) -> dict[str, StageRun]:
    """The four stages on ``pages`` synthetic pages under ``work``; each stage's run, with its documents in/out."""
    write_fetch_dir(work / "fetch", synthetic_pages(pages))
    runs = {}
    for stage in STAGES:
        extra = ["--gpt2-vocab-dir", str(SHARED_GPT2)] if stage == "tokenize" and SHARED_GPT2.is_dir() else []
        command = webtext_cli(stage, work / INPUTS[stage], "--out", work / stage, "--quiet", *extra)
        stage_run, _ = measure("webtext", stage, command, env)
        counts = json.loads((work / stage / "summary.json").read_text())["counts"]
        stage_run.documents_in = counts.get("pages", counts.get("documents"))
        stage_run.documents_out = counts.get("kept", counts.get("documents"))
        runs[stage] = stage_run
    return runs


def exponent(small: float, large: float, factor: int) -> float:
    return math.log(large / small) / math.log(factor) if small > 0 and large > 0 else float("nan")


def report(small: dict[str, StageRun], large: dict[str, StageRun], pages: int, factor: int) -> bool:
    """Prints the table; True when every stage meets both goals."""
    print(f"\n{pages:,} → {pages * factor:,} pages (load average {os.getloadavg()[0]:.1f} at the end)")
    print("stage      docs in (N → 10N)   wall s (N → 10N)   growth   CPU s (N → 10N)   growth   peak RSS MB     ratio")
    ok = True
    for stage in STAGES:
        a, b = small[stage], large[stage]
        wall_growth, cpu_growth = exponent(a.wall_s, b.wall_s, factor), exponent(a.cpu_s, b.cpu_s, factor)
        rss_ratio = b.peak_rss_mb / a.peak_rss_mb if a.peak_rss_mb else float("nan")
        ok &= cpu_growth <= GROWTH_GOAL and rss_ratio <= RSS_GOAL
        print(
            f"{stage:9}  {a.documents_in or 0:>7,} → {b.documents_in or 0:<8,}  {a.wall_s:7.1f} → {b.wall_s:<7.1f}"
            f"  {wall_growth:6.2f}   {a.cpu_s:7.1f} → {b.cpu_s:<7.1f}  {cpu_growth:6.2f}"
            f"   {a.peak_rss_mb:5.0f} → {b.peak_rss_mb:<5.0f}  {rss_ratio:5.2f}"
        )
    print(f"goals: growth exponent (CPU) <= {GROWTH_GOAL}, peak RSS ratio <= {RSS_GOAL}: {'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="N: the smaller run's pages (2 shards per worker)")
    parser.add_argument("--factor", type=int, default=10, help="the larger run has N × factor pages")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs' folders here (default: a temp dir)")
    args = parser.parse_args()
    if args.pages < 1 or args.factor < 2:
        parser.error("--pages must be >= 1 and --factor >= 2")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        small = run_size(args.pages, root / "small", env)
        large = run_size(args.pages * args.factor, root / "large", env)
        report(small, large, args.pages, args.factor)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
