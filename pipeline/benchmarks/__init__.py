"""The benchmarks, defined once: their release files' strict readers, de-tokenizers and the registry (name → file,
reader, headline metrics, the GPT-2 paper's numbers) that evaluation, comparison and decontamination all read."""

from pipeline.benchmarks.registry import BENCHMARKS, HEADLINE_METRICS, PAPER_MODELS, Benchmark, Metric

__all__ = ["BENCHMARKS", "HEADLINE_METRICS", "PAPER_MODELS", "Benchmark", "Metric"]
