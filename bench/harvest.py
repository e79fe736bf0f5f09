"""Harvest throughput and memory, against the baseline measured in the same run.

Speed: submissions/s of the whole harvest stage (scan + aggregate + shards) over one
``.zst`` dump, against a plain loop of ``json.loads`` over the lines of the same file
(same zstd decompression), each side with the same number of processes: one process
against the single-process loop, and ``--workers`` processes (default: one per core)
against the loop spread over as many processes (the main process decompresses whole-line
blocks, a pool of that many processes parses them; pool start-up is timed, as the
stage's worker start-up is). The stage's ``workers`` counts its main process, which
classifies beside ``workers - 1`` spawned ones; the loop's main process only decompresses,
so its pool gets every core. Goal: >= 3x at the same process count.

Memory: peak RSS of the harvest, each run in a fresh process, on dumps of 1/4, 1/2 and
all of that size. Goal: flat (the largest within ~1.25x of the smallest).

The dump is synthetic but shaped like a Pushshift month: full ~45-field records, a
mix of self posts, Reddit-hosted media, media hosts and external links, many links
submitted more than once. With ``--blocklist-entries N`` the timed harvests read a
synthetic blocklist of N entries (domains and URL patterns, some naming the dump's hosts).

    python bench/harvest.py [--submissions 400000] [--workers N] [--blocklist-entries 10000]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import zstandard

from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.dumps import DumpSource
from pipeline.harvest.stage import run_harvest
from pipeline.sample.reddit import ndjson_lines, pushshift_submission, write_dump
from pipeline.settings import resolve_workers

SITES = 997
SUBREDDITS = ("news", "worldnews", "AskReddit", "pics", "technology", "science", "books", "gaming", "videos")


def synthetic_month(count: int, seed: int = 1) -> Iterator[dict]:
    """Submissions in a realistic mix; ~40% of external links are submitted more than once."""
    rng = random.Random(seed)
    start = 1546300800
    for index in range(count):
        roll = rng.random()
        subreddit = rng.choice(SUBREDDITS)
        if roll < 0.30:
            url, is_self = f"https://www.reddit.com/r/{subreddit}/comments/{index:x}/post/", True
        elif roll < 0.50:
            url, is_self = f"https://i.redd.it/{index:x}.jpg", False
        elif roll < 0.62:
            url, is_self = rng.choice(("https://i.imgur.com/", "https://youtu.be/")) + f"{index:x}", False
        else:
            article = rng.randrange(count // 4 + 1)
            tracking = "?utm_source=reddit&amp;utm_medium=social" if rng.random() < 0.2 else ""
            url, is_self = f"https://site{article % SITES}.example.com/{article}/story-{article}{tracking}", False
        yield pushshift_submission(
            id=f"{index + 10**6:x}",
            url=url,
            score=rng.choice((0, 1, 1, 2, 3, 5, 12, 40, 300)),
            created_utc=start + index * 2678400 // max(count, 1),
            subreddit=subreddit,
            is_self=is_self,
            over_18=rng.random() < 0.03,
            title=f"Submission number {index}",
            rng=rng,
        )


def make_dump(directory: Path, count: int) -> Path:
    return write_dump(directory / f"RS_bench_{count}.zst", ndjson_lines(synthetic_month(count)))


def synthetic_blocklist(directory: Path, entries: int, articles: int, seed: int = 2) -> Path:
    """A list shaped like a real one: unrelated domains, 50 of the dump's sites, and URL patterns (a fifth of the
    entries; prefixes and ``*`` patterns) on the dump's articles."""
    rng = random.Random(seed)
    patterns = entries // 5
    sites = min(50, entries - patterns)
    lines = ["# bench/harvest.py's synthetic blocklist"]
    lines += [f"site{index}.example.com  # one of the dump's hosts" for index in rng.sample(range(SITES), sites)]
    for number in range(patterns):
        article = rng.randrange(articles)
        host = f"site{article % SITES}.example.com"
        lines.append(f"https://{host}/{article}/" if number % 2 else f"{host}/*/story-{article}$")
    lines += [f"ads{index}.blocked.test" for index in range(entries - patterns - sites)]
    path = directory / "bench-blocklist.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def baseline_json_loads(path: Path) -> tuple[int, float]:
    """The naive harvest loop: decompress, split lines, ``json.loads`` every line."""
    started = time.perf_counter()
    count = 0
    with open(path, "rb") as raw:
        reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(raw)
        for line in io.BufferedReader(reader, buffer_size=1 << 20):
            json.loads(line)
            count += 1
    return count, time.perf_counter() - started


def _json_loads_block(block: bytes) -> int:
    for line in block.splitlines():
        json.loads(line)
    return block.count(b"\n")


def parallel_baseline_json_loads(path: Path, workers: int) -> tuple[int, float]:
    """The naive loop over ``workers`` processes: this process decompresses whole-line blocks (the stage's reader),
    a pool of spawned processes (started inside the timing) runs ``json.loads`` on every line of each block."""
    started = time.perf_counter()
    count, pending = 0, deque[Future[int]]()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for block in DumpSource(path).chunks():
            if len(pending) >= 2 * workers:  # as many blocks in flight as the stage allows
                count += pending.popleft().result()
            pending.append(pool.submit(_json_loads_block, bytes(block)))
        count += sum(future.result() for future in pending)
    return count, time.perf_counter() - started


def timed_harvest(
    path: Path, out_dir: Path, workers: int | None, blocklists: tuple[Path, ...] = ()
) -> tuple[int, float]:
    started = time.perf_counter()
    summary = run_harvest([DumpSource(path)], out_dir, HarvestConfig(workers=workers, blocklists=blocklists))
    return summary.counts["lines"], time.perf_counter() - started


def peak_rss_mb(path: Path, out_dir: Path) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh process running the harvest on ``path``, and of its largest worker."""
    code = (
        "import multiprocessing, resource; from pathlib import Path\n"
        "from pipeline.harvest.config import HarvestConfig\n"
        "from pipeline.harvest.dumps import DumpSource\n"
        "from pipeline.harvest.stage import run_harvest\n"
        "if __name__ == '__main__':\n"
        f"    run_harvest([DumpSource(Path({str(path)!r}))], Path({str(out_dir)!r}), HarvestConfig())\n"
        "    for child in multiprocessing.active_children():  # the pool's workers exit after the harvest returns\n"
        "        child.join()\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    script = out_dir.with_suffix(".py")
    script.write_text(code, encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    output = subprocess.run(
        [sys.executable, str(script)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    main_kb, child_kb = output.stdout.split()[-2:]
    return int(main_kb) / 1024, int(child_kb) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=400_000, help="submissions in the largest dump")
    parser.add_argument("--workers", type=int, default=None, help="classification processes (default: cores)")
    parser.add_argument("--repeats", type=int, default=3, help="best of N timings")
    parser.add_argument("--blocklist-entries", type=int, default=0, help="time the harvest with a blocklist this long")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-harvest-") as scratch:
        directory = Path(scratch)
        sizes = (args.submissions // 4, args.submissions // 2, args.submissions)
        dumps = [make_dump(directory, size) for size in sizes]
        dump = dumps[-1]
        line_bytes = sum(len(line) for line in DumpSource(dump).lines()) / args.submissions
        print(
            f"dump: {args.submissions:,} submissions ({line_bytes:,.0f} bytes/line), "
            f"{dump.stat().st_size / 1e6:.1f} MB zstd (long window); {os.cpu_count()} cores"
        )
        blocklists: tuple[Path, ...] = ()
        if args.blocklist_entries:
            blocklists = (synthetic_blocklist(directory, args.blocklist_entries, args.submissions // 4 + 1),)
            cfg = HarvestConfig(workers=1, blocklists=blocklists)
            outcomes = run_harvest([DumpSource(dump)], directory / "listed", cfg).outcomes
            hits = sum(count for outcome, count in outcomes.items() if outcome.startswith("blocklisted:"))
            kept = outcomes.get("kept", 0) + hits
            print(f"blocklist: {args.blocklist_entries:,} entries; {hits:,} of {kept:,} kept submissions blocklisted")
        workers = resolve_workers(args.workers)
        baseline = min(baseline_json_loads(dump)[1] for _ in range(args.repeats))
        spread = min(parallel_baseline_json_loads(dump, workers)[1] for _ in range(args.repeats))
        stage = min(
            timed_harvest(dump, directory / f"out{attempt}", args.workers, blocklists)[1]
            for attempt in range(args.repeats)
        )
        single = min(
            timed_harvest(dump, directory / f"one{attempt}", 1, blocklists)[1] for attempt in range(args.repeats)
        )
        rate = {
            name: args.submissions / seconds
            for name, seconds in (("baseline", baseline), ("spread", spread), ("stage", stage), ("single", single))
        }
        print(f"json.loads loop, 1 process:      {rate['baseline']:10,.0f} submissions/s ({baseline:.2f} s)")
        print(f"json.loads loop, {workers} processes:    {rate['spread']:10,.0f} submissions/s ({spread:.2f} s)")
        print(f"harvest stage, 1 process:        {rate['single']:10,.0f} submissions/s ({single:.2f} s)")
        print(f"harvest stage, {workers} processes:      {rate['stage']:10,.0f} submissions/s ({stage:.2f} s)")
        print(
            f"speed ratio harvest/json.loads, same processes: {workers}: {rate['stage'] / rate['spread']:.2f}x, "
            f"1: {rate['single'] / rate['baseline']:.2f}x (goal >= 3x; {workers} processes against the "
            f"1-process loop: {rate['stage'] / rate['baseline']:.2f}x)"
        )
        peaks = []
        for size, sized in zip(sizes, dumps):
            main_mb, worker_mb = peak_rss_mb(sized, directory / f"mem{size}")
            peaks.append(main_mb)
            print(f"peak RSS at {size:>9,} submissions: main {main_mb:.0f} MB, largest worker {worker_mb:.0f} MB")
        print(f"memory ratio 4x/1x: {peaks[-1] / peaks[0]:.2f} (goal: flat, <= 1.25)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
