"""Training throughput: Ray Train's overhead on CPU, and tokens/s and MFU on one GPU.

CPU (default): the ``tiny`` model on a tokens folder made from the bundled sample's texts (repeated
to ``--tokens`` tokens; a 4,096-id trained BPE as in the demo, or GPT-2's from ``../shared/data/gpt2``):

- ray: ``run_training`` with 2 Ray Train workers (DDP on gloo), ``--batch`` sequences each;
- plain: the same loop (``training.loop.train_step`` on the same sampler) in this one process with the
  same global batch (2 x ``--batch``), torch using both cores.

Both report steady tokens/s (the plain loop after ``--warmup`` steps; Ray's as its workers measured
it between logs, start-up excluded) and wall time; the ratio ray / plain is Ray's overhead.

GPU (``--gpu``; a plain process, torch and numpy only, random tokens): 124M at context 1024, bf16,
``torch.compile``: tokens/s and MFU against the dense bf16 peak (989 TFLOP/s for H100/H200 SXM, or
``--peak-tflops``) and against a measured bf16 matmul rate, with FLOPs per token = 6N + 12·L·H·Q·T
(PaLM, appendix B; N without position embeddings); then 350M and 774M with activation checkpointing:
tokens/s and peak memory. The goal for 124M is >= 40% MFU.

    python bench/train.py [--steps 30] [--batch 8] [--tokens 200000]
    python bench/train.py --gpu [--sizes 124M,350M,774M] [--micro-batch 16] [--steps 30]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

from training.loop import build_optimizer, mfu, seed_everything, train_step
from training.model import GPT

SHARED_GPT2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "gpt2"


def tokens_folder(root: Path, tokens: int, tokenizer: str) -> Path:
    """A tokens folder of about ``tokens`` tokens from the sample's texts, made by the real tokenize stage."""
    from pipeline.records import Document, document_id, to_table
    from pipeline.sample.corpus import ARTICLES
    from pipeline.shards import write_shard
    from pipeline.tokenize.config import TokenizeConfig
    from pipeline.tokenize.stage import run_tokenize

    texts = ["\n\n".join(article.paragraphs) for article in ARTICLES if article.language == "en"]
    rows, size, epoch = [], 0, datetime(2019, 1, 1, tzinfo=UTC)
    while size < tokens * 4:  # ~4 characters per token
        text = texts[len(rows) % len(texts)]
        url = f"https://bench.test/{len(rows)}"
        rows.append(Document(document_id(url), url, "bench.test", None, text, 5, epoch))
        size += len(text)
    write_shard(to_table(rows, Document), root / "docs" / "part-00000.parquet", shard_fingerprint="bench")
    gpt2 = SHARED_GPT2 if tokenizer == "gpt2" else None
    cfg = TokenizeConfig(tokenizer=tokenizer, gpt2_vocab_dir=gpt2, vocab_size=4096, val_fraction=0.0, workers=1)
    run_tokenize(root / "docs", root / "tokens", cfg)
    return root / "tokens"


def plain_loop(tokens_dir: Path, cfg: object, steps: int, warmup: int) -> dict[str, float]:
    """The training loop alone in this process: tokens/s after ``warmup`` steps, and wall seconds."""
    from pipeline.tokenize.tokens_folder import read_manifest
    from training.data import BlockSampler, TokenSplit

    start = time.perf_counter()
    shape = cfg.model_config(read_manifest(tokens_dir).vocab_size)
    seed_everything(cfg.seed)
    model, device = GPT(shape), torch.device("cpu")
    optimizer = build_optimizer(model, cfg, device)
    sampler = BlockSampler(TokenSplit.open(tokens_dir, "train"), shape.block_size, 0, 1, cfg.seed)
    tokens = 0
    for step in range(steps):
        if step == warmup:
            steady, tokens = time.perf_counter(), 0
        tokens += train_step(
            model, optimizer, [sampler.next_batch(cfg.batch_size)], step, cfg, device, shape.block_size
        ).tokens
    return {"tokens_per_s": tokens / (time.perf_counter() - steady), "wall_s": time.perf_counter() - start}


def ray_run(tokens_dir: Path, out_dir: Path, cfg: object) -> dict[str, float]:
    from pipeline.tracking import history
    from training.run import run_training

    start = time.perf_counter()
    summary = run_training(tokens_dir, out_dir, cfg)
    rates = [
        value
        for step, value in history(
            summary.details["mlflow_tracking_uri"], summary.details["mlflow_run_id"], "tokens_per_s"
        )
        if step > 1
    ]
    return {"tokens_per_s": sum(rates) / len(rates), "wall_s": time.perf_counter() - start}


def cpu_bench(args: argparse.Namespace) -> None:
    from training.config import TrainConfig

    with tempfile.TemporaryDirectory(prefix="bench-train-") as scratch:
        root = Path(scratch)
        tokens_dir = tokens_folder(root, args.tokens, args.tokenizer)
        ray_cfg = TrainConfig(
            model="tiny",
            max_steps=args.steps,
            batch_size=args.batch,
            workers=2,
            log_every=5,
            eval_every=10**6,
            checkpoint_every=args.steps,
            mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        )
        plain_cfg = dataclasses.replace(ray_cfg, batch_size=2 * args.batch, workers=1)
        plain = plain_loop(tokens_dir, plain_cfg, args.steps, args.warmup)
        ray = ray_run(tokens_dir, root / "run", ray_cfg)
        shutil.rmtree(root / "run", ignore_errors=True)
    print(
        f"tiny, global batch {2 * args.batch} x 256 tokens, {args.steps} steps, torch threads {torch.get_num_threads()}"
    )
    print(f"plain loop, 1 process   {plain['tokens_per_s']:>10,.0f} tokens/s   {plain['wall_s']:6.1f} s wall")
    print(
        f"Ray Train, 2 workers    {ray['tokens_per_s']:>10,.0f} tokens/s   {ray['wall_s']:6.1f} s wall "
        "(Ray start included)"
    )
    print(
        f"ray / plain: {ray['tokens_per_s'] / plain['tokens_per_s']:.2f}x steady, "
        f"{plain['wall_s'] / ray['wall_s']:.2f}x wall"
    )


def matmul_tflops(device: torch.device, size: int = 8192, repeats: int = 20) -> float:
    a, b = (torch.randn(size, size, device=device, dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e12


def gpu_size(size: str, args: argparse.Namespace, device: torch.device, peak: float) -> dict[str, float]:
    from training.config import TrainConfig

    checkpointing = size != "124M"
    cfg = TrainConfig(
        model=size,
        batch_size=args.micro_batch,
        max_steps=args.steps,
        precision="bf16",
        compile=True,
        activation_checkpointing=checkpointing,
    )
    shape = cfg.model_config(50257)
    seed_everything(0)
    raw = GPT(shape).to(device)
    raw.activation_checkpointing = checkpointing
    model = torch.compile(raw)
    optimizer = build_optimizer(raw, cfg, device)
    torch.cuda.reset_peak_memory_stats(device)
    generator = torch.Generator().manual_seed(0)
    tokens = 0
    for step in range(args.steps):
        window = torch.randint(0, 50257, (args.micro_batch, shape.block_size + 1), generator=generator).numpy()
        if step == args.warmup:
            torch.cuda.synchronize()
            start, tokens = time.perf_counter(), 0
        tokens += train_step(
            model, optimizer, [(window[:, :-1], window[:, 1:])], step, cfg, device, shape.block_size
        ).tokens
    torch.cuda.synchronize()
    rate = tokens / (time.perf_counter() - start)
    flops = raw.flops_per_token()
    return {
        "tokens_per_s": rate,
        "mfu": mfu(rate, flops, 1, peak) or 0.0,
        "peak_gib": torch.cuda.max_memory_allocated(device) / 2**30,
        "flops_per_token": flops,
    }


def gpu_bench(args: argparse.Namespace) -> None:
    device = torch.device("cuda")
    peak = (args.peak_tflops or 989.0) * 1e12
    measured = matmul_tflops(device)
    print(f"{torch.cuda.get_device_name(device)}: bf16 matmul {measured:.0f} TFLOP/s measured; peak {peak / 1e12:.0f}")
    for size in args.sizes.split(","):
        result = gpu_size(size, args, device, peak)
        print(
            f"{size:>6}: {result['tokens_per_s']:>10,.0f} tokens/s  MFU {result['mfu']:.1%} of peak, "
            f"{result['mfu'] * peak / (measured * 1e12):.1%} of measured matmul; "
            f"peak memory {result['peak_gib']:.1f} GiB "
            f"({result['flops_per_token'] / 1e9:.2f} GFLOP/token)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5, help="steps before the plain loop's clock starts")
    parser.add_argument("--batch", type=int, default=8, help="CPU: sequences per Ray worker")
    parser.add_argument("--tokens", type=int, default=200_000, help="CPU: tokens in the tokens folder")
    parser.add_argument("--tokenizer", choices=("bpe", "gpt2"), default="bpe", help="CPU: a 4,096-id BPE or GPT-2's")
    parser.add_argument("--gpu", action="store_true", help="the GPU benchmark instead")
    parser.add_argument("--sizes", default="124M,350M,774M", help="GPU: model sizes")
    parser.add_argument("--micro-batch", type=int, default=16, help="GPU: sequences per step")
    parser.add_argument("--peak-tflops", type=float, default=None, help="GPU: dense bf16 peak (default 989)")
    args = parser.parse_args()
    gpu_bench(args) if args.gpu else cpu_bench(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
