"""Zero-shot evaluation throughput: the batched adapter against a plain loop of one window per forward pass.

Both score the same windows with the same model call: ``loglikelihood_rolling`` over WikiText-2 test
articles (lm-eval's disjoint windows of the model's context) and ``loglikelihood`` over LAMBADA passages
(the context, then " " + the last word), read from ``../shared/data/eval`` when present, else synthetic
text of the same shape. Tokens/s counts the tokens fed to the model (padding excluded); the loop's
numbers are checked equal to the batched ones. Each figure is the fastest of ``--repeats`` interleaved
rounds: other processes on a shared machine only ever slow a run down.

CPU (default): the ``tiny`` and ``mini`` shapes with random weights and GPT-2's tokenizer (from
``../shared/data/gpt2``; else a 4,096-id BPE trained on the text), exported to a temporary folder and
loaded with ``load_model``, as evaluation loads a trained model; batch sizes 1, 2, 4, 8, 16, the best
one and its ratio to the loop. ``--limit`` keeps it short: that many LAMBADA passages, and WikiText-2
articles until they fill that many windows.

GPU (``--gpu``; a plain process: torch and transformers only): 124M (our GPT, random weights, bf16
autocast) on the full LAMBADA, WikiText-2 and Penn Treebank (one text) test sets: wall time of the
batched adapter at ``--batch-size`` and of the loop, per task and in all, and the ratio.

    python bench/evaluate.py [--limit 16] [--repeats 3] [--sizes tiny,mini] [--batch-sizes 1,2,4,8,16]
    python bench/evaluate.py --gpu [--batch-size 32] [--shared DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from evaluation.adapter import ModelAdapter, TokenPair, rolling_windows
from training.model import GPT, GPTConfig

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ARTICLE_TITLE = re.compile(r"^ = [^=].* = $")  # WikiText's top-level headings start an article
EOT = "<|endoftext|>"
WORDS = "the of and a to in is was that for on as with by he at from his an were are which this be or had".split()


def synthetic_words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) if rng.random() < 0.6 else f"word{rng.randrange(5000)}" for _ in range(count))


def wikitext_articles(shared: Path) -> list[str]:
    """WikiText-2 test, one text per article; synthetic articles of ~3,000 words without the file."""
    path = shared / "eval" / "wikitext-2.test.txt"
    if not path.is_file():
        rng = random.Random(0)
        return [f" = Article {i} = \n" + synthetic_words(rng, 3000) for i in range(60)]
    articles: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if ARTICLE_TITLE.match(line.rstrip("\n")) or not articles:
            articles.append([])
        articles[-1].append(line)
    return ["".join(lines) for lines in articles if "".join(lines).strip()]


def lambada_requests(shared: Path) -> list[tuple[str, str]]:
    """LAMBADA test as (context, " " + last word); synthetic passages of ~70 words without the file."""
    path = shared / "eval" / "lambada_test.jsonl"
    if path.is_file():
        texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        rng = random.Random(1)
        texts = [synthetic_words(rng, 70) for _ in range(5153)]
    return [(text.rsplit(" ", 1)[0], " " + text.rsplit(" ", 1)[1]) for text in texts]


def ptb_text(shared: Path) -> str:
    path = shared / "eval" / "ptb.test.txt"
    return path.read_text(encoding="utf-8") if path.is_file() else synthetic_words(random.Random(2), 82_000)


def plain_loop(adapter: ModelAdapter, pairs: list[TokenPair]) -> list[float]:
    """The baseline: one window per forward pass, no padding, no sorting, a log-softmax over every position."""
    results = []
    for context, continuation in pairs:
        window = (context + continuation)[-(adapter.max_length + 1) :][:-1]
        logits = adapter.logits(torch.tensor([window]))[0]
        with torch.inference_mode():
            logprobs = torch.log_softmax(logits.float(), dim=-1)[len(window) - len(continuation) :]
            picked = logprobs.gather(1, torch.tensor(continuation, device=logits.device)[:, None])
            results.append(picked.sum().item())
    return results


def fed_tokens(adapter: ModelAdapter, pairs: list[TokenPair]) -> int:
    return sum(len((context + continuation)[-(adapter.max_length + 1) :][:-1]) for context, continuation in pairs)


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = function()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


def workloads(adapter: ModelAdapter, shared: Path, limit: int | None, gpu: bool) -> dict[str, list[TokenPair]]:
    """Each task's windows, made by the adapter's own encoding: WikiText-2, LAMBADA (and PTB on GPU)."""
    windows: list[TokenPair] = []
    for article in wikitext_articles(shared):
        windows += rolling_windows(adapter.encode(article), adapter.eot_id, adapter.max_length, None)
        if limit is not None and len(windows) >= limit:
            break
    requests = lambada_requests(shared)[:limit]
    tasks = {"wikitext2": windows, "lambada": [adapter.encode_pair(context, target) for context, target in requests]}
    if gpu:
        ptb = rolling_windows(adapter.encode(ptb_text(shared)), adapter.eot_id, adapter.max_length, None)
        tasks["ptb"] = ptb[:limit]
    return tasks


def compare(adapter: ModelAdapter, pairs: list[TokenPair], batch_sizes: list[int], repeats: int) -> dict[str, Any]:
    """Tokens/s of the plain loop and of the adapter at each batch size, measured in ``repeats`` interleaved rounds
    and the fastest kept (other processes on the machine only ever slow a run down); the largest difference
    between the loop's numbers and the adapter's."""

    def batched(batch_size: int) -> list[float]:
        adapter.batch_size = batch_size
        return [logprob for logprob, _ in adapter.score(pairs)]

    tokens = fed_tokens(adapter, pairs)
    adapter.score(pairs[:2])  # warm-up: allocator, kernels
    runs: dict[Any, Callable[[], list[float]]] = {"loop": lambda: plain_loop(adapter, pairs)}
    runs |= {size: functools.partial(batched, size) for size in batch_sizes}
    seconds: dict[Any, float] = dict.fromkeys(runs, math.inf)
    difference = 0.0
    for _ in range(repeats):
        for key, run in runs.items():
            values, elapsed = timed(run)
            seconds[key] = min(seconds[key], elapsed)
            if key == "loop":
                expected = values
            else:
                difference = max(difference, *(abs(value - want) for value, want in zip(values, expected)))
    rates = {size: (tokens / seconds[size], seconds[size]) for size in batch_sizes}
    return {"windows": len(pairs), "tokens": tokens, "loop": (tokens / seconds["loop"], seconds["loop"]),
            "batched": rates, "max_difference": difference}  # fmt: skip


def report(name: str, task: str, result: dict[str, Any]) -> None:
    loop_rate, loop_s = result["loop"]
    print(f"{name} {task}: {result['windows']} windows, {result['tokens']:,} tokens fed")
    print(f"  {'loop':>9}  {loop_rate:>9,.0f} tokens/s  {loop_s:7.2f} s")
    for batch_size, (rate, seconds) in result["batched"].items():
        print(f"  {f'batch {batch_size}':>9}  {rate:>9,.0f} tokens/s  {seconds:7.2f} s  {rate / loop_rate:5.2f}x loop")
    best = max(result["batched"], key=lambda size: result["batched"][size][0])
    print(
        f"  best: batch {best}, {result['batched'][best][0] / loop_rate:.2f}x the loop; "
        f"max |batched - loop| = {result['max_difference']:.2e} nats"
    )


def cpu_model(size: str, shared: Path, scratch: Path) -> ModelAdapter:
    """A random ``size`` model exported with GPT-2's tokenizer (or a BPE) and loaded as evaluation loads one."""
    from evaluation.model_loading import load_model
    from pipeline.tokenize.config import TokenizeConfig
    from pipeline.tokenize.folder import new_tokenizer
    from training.export import export_hf

    tokens = scratch / "tokens"
    if not (tokens / "tokenizer").is_dir():
        if (shared / "gpt2").is_dir():
            new_tokenizer(tokens, "gpt2", TokenizeConfig(tokenizer="gpt2", gpt2_vocab_dir=shared / "gpt2"), list, [])
        else:
            texts = [*wikitext_articles(shared)[:20], *(context for context, _ in lambada_requests(shared)[:500])]
            new_tokenizer(tokens, "bpe", TokenizeConfig(tokenizer="bpe", vocab_size=4096), lambda: iter(texts), [])
    vocab_size = json.loads((tokens / "tokenizer" / "identity.json").read_text())["vocab_size"]
    torch.manual_seed(0)
    model = GPT(GPTConfig.named(size, vocab_size=vocab_size))
    export_hf(model, tokens / "tokenizer", scratch / size, {"model_size": size, "n_params": model.num_parameters()})
    return load_model(scratch / size)


def cpu_bench(args: argparse.Namespace) -> None:
    batch_sizes = [int(size) for size in args.batch_sizes.split(",")]
    print(f"CPU, torch threads {torch.get_num_threads()}, data from {args.shared if args.shared.is_dir() else 'synth'}")
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as scratch:
        for size in args.sizes.split(","):
            adapter = cpu_model(size, args.shared, Path(scratch))
            print(f"{adapter!r}, vocabulary {adapter.vocab_size:,}")
            for task, pairs in workloads(adapter, args.shared, args.limit, gpu=False).items():
                report(size, task, compare(adapter, pairs, batch_sizes, args.repeats))


def gpu_bench(args: argparse.Namespace) -> None:
    from transformers import GPT2TokenizerFast

    from evaluation.model_loading import NO_LIMIT, gpt_adapter

    gpt2 = args.shared / "gpt2"
    # vocab=/merges=: transformers 5 silently builds an empty tokenizer from vocab_file=/merges_file=
    tokenizer = GPT2TokenizerFast(vocab=str(gpt2 / "encoder.json"), merges=str(gpt2 / "vocab.bpe"), eos_token=EOT)
    tokenizer.model_max_length = NO_LIMIT
    torch.manual_seed(0)
    model = GPT(GPTConfig.named(args.size))
    adapter = gpt_adapter(model, tokenizer, args.size, device=args.device, batch_size=args.batch_size)
    where = torch.cuda.get_device_name() if adapter.device.type == "cuda" else str(adapter.device)
    print(f"{where}: {adapter!r}, {'bf16 autocast' if adapter.device.type == 'cuda' else 'fp32'}")
    total_batched = total_loop = 0.0
    for task, pairs in workloads(adapter, args.shared, args.limit, gpu=True).items():
        result = compare(adapter, pairs, [args.batch_size], args.repeats)
        report(args.size, task, result)
        total_batched += result["batched"][args.batch_size][1]
        total_loop += result["loop"][1]
    print(f"all tasks: batched {total_batched:.1f} s, loop {total_loop:.1f} s: {total_loop / total_batched:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="LAMBADA passages and WikiText-2 windows per task")
    parser.add_argument(
        "--repeats", type=int, default=None, help="interleaved rounds; each figure is the fastest (CPU 3, GPU 1)"
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU: torch threads (default: torch's choice)")
    parser.add_argument("--sizes", default="tiny,mini", help="CPU: model shapes")
    parser.add_argument("--batch-sizes", default="1,2,4,8,16", help="CPU: batch sizes to measure")
    parser.add_argument("--gpu", action="store_true", help="the GPU benchmark instead (124M, bf16, full test sets)")
    parser.add_argument("--batch-size", type=int, default=32, help="GPU: windows per forward pass")
    parser.add_argument("--size", default="124M", help="GPU: the model shape")
    parser.add_argument("--device", default="cuda", help="GPU: the device (cpu: a smoke test of this path)")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the reference data (eval/ and gpt2/)")
    args = parser.parse_args()
    if args.gpu:
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            parser.error("--gpu needs CUDA (or --device cpu for a smoke test)")
        args.repeats = args.repeats or 1
        gpu_bench(args)
    else:
        args.limit = args.limit if args.limit is not None else 16
        args.repeats = args.repeats or 3
        if args.threads:
            torch.set_num_threads(args.threads)
        cpu_bench(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
