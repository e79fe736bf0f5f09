"""The ``webtext`` Prefect flow: the DAG of DESIGN.md, one thin task per stage.

Tasks receive paths and return small summaries; the data itself moves only through
files under ``data_root``, so any task can be rerun alone and skips finished shards.
Run it directly (``python -m flows.webtext --config flows/configs/sample.yaml``), or
serve the ``webtext-build`` deployment (``python -m flows.serve``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.states import State

from evaluation.compare import compare_models
from evaluation.run import run_evaluation
from flows.config import (
    DecontaminateSection,
    DedupSection,
    EvaluateSection,
    ExtractSection,
    FetchSection,
    FilterSection,
    HarvestSection,
    QualityTrainSection,
    SampleSettings,
    TokenizeSection,
    TrainSection,
    expand_dumps,
    load_run_config,
)
from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.stage import run_decontaminate
from pipeline.dedup.stage import run_dedup
from pipeline.extract.stage import run_extract
from pipeline.fetch.stage import run_fetch
from pipeline.filter.quality_train import train_quality_model
from pipeline.filter.stage import run_filter
from pipeline.harvest.dumps import CorruptDumpError
from pipeline.harvest.reddit_api import RedditApiError
from pipeline.harvest.sources import collect_sources
from pipeline.harvest.stage import run_harvest
from pipeline.sample.generate import generate_sample
from pipeline.sample.server import serve_sample_web
from pipeline.stage import StageSummary, headline
from pipeline.tokenize.stage import run_tokenize
from training.config import TrainConfig
from training.run import run_training
from training.tracking import tracking_uri

DEFAULT_CONFIG = "flows/configs/sample.yaml"
# Failures that another attempt can fix (the network, a busy disk); bad input or config never is.
TRANSIENT_ERRORS = (OSError, TimeoutError, RedditApiError)
PERMANENT_ERRORS = (FileNotFoundError, NotADirectoryError, CorruptDumpError, ValueError)


def retry_when_transient(task: Any, task_run: Any, state: State) -> bool:
    """Prefect retry condition: retry IO failures, not a corrupt dump or a bad config."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, TRANSIENT_ERRORS) and not isinstance(error, PERMANENT_ERRORS)


def log_summary(summary: StageSummary) -> dict[str, Any]:
    """Log a stage's summary on the task run; returns it as the task's result (unchanged, as JSON)."""
    get_run_logger().info(
        "%s: %s; %s of %s units done in %.1f s; outcomes %s",
        summary.stage,
        headline(summary.counts),
        summary.units_done,
        summary.units,
        summary.seconds,
        summary.outcomes,
    )
    return summary.as_json()


@task(name="generate_sample")
def generate_sample_data(settings: SampleSettings) -> dict[str, Any]:
    """Write the bundled sample (a no-op when it is already complete)."""
    manifest = generate_sample(settings.dir)
    return {"dir": str(settings.dir), "files": len(manifest["files"]), "hosts": len(manifest["resolve"])}


@task(name="harvest_links", retries=2, retry_delay_seconds=30, retry_condition_fn=retry_when_transient)
def harvest_links(section: HarvestSection, out_dir: Path) -> dict[str, Any]:
    """Reddit submissions → ``UrlRecord`` shards; retried because the API source does network IO."""
    api = section.reddit_api.config() if section.reddit_api else None
    sources = collect_sources(expand_dumps(section.dumps), out_dir, api)
    return log_summary(run_harvest(sources, out_dir, section.config()))


@task(name="fetch_pages", retries=1, retry_delay_seconds=60, retry_condition_fn=retry_when_transient)
def fetch_pages(section: FetchSection, urls_dir: Path, out_dir: Path, sample_web: Path | None) -> dict[str, Any]:
    """Harvested URLs → WARC + pages index; resumable, so a retry continues where it stopped."""
    cfg = section.config()
    if section.crawl_sample_web and sample_web is not None:
        with serve_sample_web(sample_web) as web:
            pinned = dataclasses.replace(cfg, resolve={**cfg.resolve, **web.resolve})
            return log_summary(run_fetch(urls_dir, out_dir, pinned))
    return log_summary(run_fetch(urls_dir, out_dir, cfg))


@task(name="extract_documents")
def extract_documents(section: ExtractSection, fetch_dir: Path, out_dir: Path, replace: bool = False) -> dict[str, Any]:
    """Archived pages → Document shards (main text); rejected pages kept under rejected/extract/."""
    return log_summary(run_extract(fetch_dir, out_dir, section.config(), replace=replace))


@task(name="dedup_documents")
def dedup_documents(section: DedupSection, docs_dir: Path, out_dir: Path, replace: bool = False) -> dict[str, Any]:
    """Documents → the same shards without exact and near duplicates (Spark); the dropped ones under rejected/dedup/."""
    return log_summary(run_dedup(docs_dir, out_dir, section.config(), against=section.against, replace=replace))


@task(name="train_quality_classifier")
def train_quality_classifier(section: QualityTrainSection, deduped_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Positives (high-karma documents or a reference corpus) vs negatives → a fastText model and its metrics."""
    positives = section.positives or [deduped_dir]
    metrics = train_quality_model(positives, section.negatives, out_dir, section.config())
    get_run_logger().info(
        "quality classifier %s: held-out precision %.3f recall %.3f F1 %.3f; train %s, valid %s",
        "reused" if metrics.reused else "trained",
        metrics.precision,
        metrics.recall,
        metrics.f1,
        metrics.train_examples,
        metrics.valid_examples,
    )
    if caveat := metrics.caveat():
        get_run_logger().warning("quality classifier: %s", caveat)
    return {"model": metrics.model, "f1": metrics.f1, "precision": metrics.precision, "recall": metrics.recall}


@task(name="filter_documents")
def filter_documents(
    section: FilterSection, docs_dir: Path, out_dir: Path, trained_model: Path | None, replace: bool = False
) -> dict[str, Any]:
    """Documents → those in the wanted languages that pass the Gopher rules and the quality selection."""
    cfg = section.config()
    if cfg.quality.model_path is None and trained_model is not None:
        cfg = dataclasses.replace(cfg, quality=dataclasses.replace(cfg.quality, model_path=str(trained_model)))
    return log_summary(run_filter(docs_dir, out_dir, cfg, replace=replace))


@task(name="decontaminate_documents")
def decontaminate_documents(
    section: DecontaminateSection, docs_dir: Path, out_dir: Path, replace: bool = False
) -> dict[str, Any]:
    """Documents → the corpus: no Wikipedia pages, no evaluation or Wikipedia text; GPT-2's overlap report."""
    eval_sets = [EvalSet.parse(spec) for spec in section.eval_sets]
    summary = run_decontaminate(
        docs_dir, out_dir, section.config(), eval_sets, section.wikipedia_dumps, replace=replace
    )
    for moment in ("before", "after"):
        if report := summary.details.get(f"overlap_{moment}"):
            get_run_logger().info("8-gram overlap with the evaluation sets, %s:\n%s", moment, report["table"])
    return log_summary(summary)


@task(name="tokenize_corpus")
def tokenize_corpus(section: TokenizeSection, corpus_dir: Path, out_dir: Path, replace: bool = False) -> dict[str, Any]:
    """The corpus → token shards (train and val) with the tokenizer's files and a manifest, for training."""
    summary = run_tokenize(corpus_dir, out_dir, section.config(), replace=replace)
    details = summary.details
    get_run_logger().info("tokenizer %s (%s ids, %s)", details["tokenizer"], details["vocab_size"], details["dtype"])
    return log_summary(summary)


@task(name="train_model")
def train_model(section: TrainSection, size: str, tokens_dir: Path, out_dir: Path, data_root: Path) -> dict[str, Any]:
    """Token shards → one model of ``size`` (Ray Train), its checkpoints, its Hugging Face export and its MLflow run;
    every size of a run logs to one MLflow store (``data_root/mlflow.db`` unless configured) to compare them."""
    cfg: TrainConfig = section.config()
    uri = tracking_uri(cfg.mlflow_tracking_uri, data_root)
    cfg = dataclasses.replace(cfg, model=size, mlflow_tracking_uri=uri)
    summary = run_training(tokens_dir, out_dir, cfg, run_name=f"train-{size}")
    details = summary.details
    get_run_logger().info(
        "%s: train loss %.3f -> %.3f, val loss %s; MLflow run %s",
        size,
        details["first_train_loss"],
        details["train_loss"],
        "n/a" if details["val_loss"] is None else f"{details['val_loss']:.3f}",
        details["mlflow_run_id"],
    )
    return log_summary(summary)


@task(name="evaluate_model")
def evaluate_model(section: EvaluateSection, model_dir: Path, data_root: Path) -> dict[str, Any]:
    """A trained model → its zero-shot metrics (the GPT-2 paper's tasks) in an MLflow run under its training run."""
    cfg = section.config()
    cfg = dataclasses.replace(cfg, mlflow_tracking_uri=tracking_uri(cfg.mlflow_tracking_uri, data_root))
    summary = run_evaluation(model_dir, cfg, skip_missing=section.skip_missing)
    metrics = ", ".join(f"{name} {value:.3f}" for name, value in summary.details["metrics"].items())
    get_run_logger().info("%s: %s", summary.details["model_size"], metrics)
    return log_summary(summary)


@task(name="compare_models")
def compare_sizes(section: EvaluateSection, data_root: Path, out_dir: Path) -> dict[str, Any]:
    """Every evaluated size of the experiment → the GPT-2 paper's table (Markdown, CSV, plot), logged to MLflow."""
    cfg = section.config()
    result = compare_models(tracking_uri(cfg.mlflow_tracking_uri, data_root), cfg.experiment, out_dir)
    get_run_logger().info("model sizes compared:\n%s", result["table"])
    return result


@flow(name="webtext", log_prints=True)
def webtext(config_path: str = DEFAULT_CONFIG) -> dict[str, Any]:
    """Build the corpus described by the run config at ``config_path``."""
    config = load_run_config(config_path)
    result: dict[str, Any] = {"config": config_path}
    if config.sample.generate:
        result["sample"] = generate_sample_data(config.sample)
    if config.runs("harvest"):
        result["harvest"] = harvest_links(config.harvest, config.urls_dir)
    if config.runs("fetch"):
        sample_web = config.sample.dir / "web" if config.sample.generate else None
        result["fetch"] = fetch_pages(config.fetch, config.urls_dir, config.fetch_dir, sample_web)
    if config.runs("extract"):
        result["extract"] = extract_documents(config.extract, config.fetch_dir, config.extracted_dir, config.replace)
    if config.runs("dedup"):
        result["dedup"] = dedup_documents(config.dedup, config.extracted_dir, config.deduped_dir, config.replace)
    if config.runs("filter"):
        trained_model = None
        if config.quality_train is not None:
            quality = train_quality_classifier(config.quality_train, config.deduped_dir, config.quality_model_dir)
            result["quality"], trained_model = quality, Path(quality["model"])
        filtered = config.filtered_dir
        result["filter"] = filter_documents(config.filter, config.deduped_dir, filtered, trained_model, config.replace)
    if config.runs("decontaminate"):
        section, corpus = config.decontaminate, config.corpus_dir
        result["decontaminate"] = decontaminate_documents(section, config.filtered_dir, corpus, config.replace)
    if config.runs("tokenize"):
        result["tokenize"] = tokenize_corpus(config.tokenize, config.corpus_dir, config.tokens_dir, config.replace)
    if config.runs("train"):
        for size in config.train.models:
            out_dir = config.model_dir(size)
            result[f"train {size}"] = train_model(config.train, size, config.tokens_dir, out_dir, config.data_root)
    if config.runs("evaluate"):
        for size in config.train.models:
            result[f"evaluate {size}"] = evaluate_model(config.evaluate, config.model_dir(size), config.data_root)
        result["compare"] = compare_sizes(config.evaluate, config.data_root, config.comparison_dir)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the webtext flow once, reporting to the Prefect API.")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="run config YAML")
    args = parser.parse_args(argv)
    result = webtext(args.config)
    print(run_report(result))
    if "compare" in result:
        print(f"\nmodel sizes ({result['compare']['out_dir']}):\n{result['compare']['table']}", end="")
    return 0


def run_report(result: dict[str, Any]) -> str:
    """One line per stage that ran: its headline counts, work units and time (the full summaries are in the
    task results and each stage's summary.json)."""
    lines = [f"webtext run of {result['config']}:"]
    for stage, summary in result.items():
        if isinstance(summary, dict) and "units" in summary:
            counts = headline({name: value for name, value in summary.items() if _is_count(name, value)})
            units = f"{summary['units_done']}/{summary['units']} units done"
            lines.append(f"  {stage:<13} {counts}; {units}, {summary['seconds']:.1f} s -> {summary['out_dir']}")
    return "\n".join(lines)


def _is_count(name: str, value: Any) -> bool:
    return isinstance(value, int) and name not in ("units", "units_done", "units_skipped")


if __name__ == "__main__":
    sys.exit(main())
