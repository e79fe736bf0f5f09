"""The ``webtext`` Prefect flow: the DAG of DESIGN.md, one thin task per stage.

Tasks receive paths and return small summaries; the data itself moves only through
files under ``data_root``, so any task can be rerun alone and skips finished shards.
Run it directly (``python -m flows.webtext --config flows/configs/sample.yaml``), or
serve the ``webtext-build`` deployment (``python -m flows.serve``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.states import State

from flows.config import (
    DedupSettings,
    ExtractSettings,
    FetchSettings,
    FilterSettings,
    HarvestSettings,
    QualityTrainSettings,
    SampleSettings,
    load_run_config,
)
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

DEFAULT_CONFIG = "flows/configs/sample.yaml"
# Failures that another attempt can fix (the network, a busy disk); bad input or config never is.
TRANSIENT_ERRORS = (OSError, TimeoutError, RedditApiError)
PERMANENT_ERRORS = (FileNotFoundError, NotADirectoryError, CorruptDumpError, ValueError)


def retry_when_transient(task: Any, task_run: Any, state: State) -> bool:
    """Prefect retry condition: retry IO failures, not a corrupt dump or a bad config."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, TRANSIENT_ERRORS) and not isinstance(error, PERMANENT_ERRORS)


@task(name="generate_sample")
def generate_sample_data(settings: SampleSettings) -> dict[str, Any]:
    """Write the bundled sample (a no-op when it is already complete)."""
    manifest = generate_sample(settings.dir)
    return {"dir": str(settings.dir), "files": len(manifest["files"]), "hosts": len(manifest["resolve"])}


@task(name="harvest_links", retries=2, retry_delay_seconds=30, retry_condition_fn=retry_when_transient)
def harvest_links(settings: HarvestSettings, out_dir: Path) -> dict[str, Any]:
    """Reddit submissions → ``UrlRecord`` shards; retried because the API source does network IO."""
    api = settings.reddit_api.to_config() if settings.reddit_api else None
    sources = collect_sources(settings.dumps, out_dir, api)
    summary = run_harvest(sources, out_dir, settings.to_config())
    logger = get_run_logger()
    logger.info(
        "harvest: %s lines, %s URLs kept (karma >= %s), %s below; outcomes %s",
        summary.lines,
        summary.urls_kept,
        settings.min_karma,
        summary.urls_below_karma,
        summary.outcomes,
    )
    return {
        "out_dir": str(out_dir),
        "lines": summary.lines,
        "urls_kept": summary.urls_kept,
        "urls_below_karma": summary.urls_below_karma,
        "outcomes": summary.outcomes,
        "shards": len(summary.shards),
    }


@task(name="fetch_pages", retries=1, retry_delay_seconds=60, retry_condition_fn=retry_when_transient)
def fetch_pages(settings: FetchSettings, urls_dir: Path, out_dir: Path, sample_web: Path | None) -> dict[str, Any]:
    """Harvested URLs → WARC + pages index; resumable, so a retry continues where it stopped."""
    if settings.crawl_sample_web and sample_web is not None:
        with serve_sample_web(sample_web) as web:
            summary = run_fetch(urls_dir, out_dir, settings.to_config(extra_pins=web.resolve))
    else:
        summary = run_fetch(urls_dir, out_dir, settings.to_config())
    get_run_logger().info("fetch: %s URLs, outcomes %s", summary.urls, summary.outcomes)
    return summary.as_json()


@task(name="extract_documents")
def extract_documents(settings: ExtractSettings, fetch_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Archived pages → Document shards (main text); rejected pages kept under rejected/extract/."""
    summary = run_extract(fetch_dir, out_dir, settings.to_config())
    get_run_logger().info(
        "extract: %s documents from %s pages; rejected %s", summary.documents, summary.pages, summary.outcomes
    )
    return {
        "out_dir": str(out_dir),
        "documents": summary.documents,
        "pages": summary.pages,
        "rejected": summary.outcomes,
        "shards": len(summary.shards),
    }


@task(name="dedup_documents")
def dedup_documents(settings: DedupSettings, docs_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Documents → the same shards without exact and near duplicates (Spark); the dropped ones under rejected/dedup/."""
    summary = run_dedup(docs_dir, out_dir, settings.to_config(), against=settings.against)
    clusters = summary.clusters
    get_run_logger().info(
        "dedup: kept %s of %s documents; %s clusters (%s bands x %s rows); rejected %s",
        summary.kept,
        summary.documents,
        clusters["clusters"],
        clusters["bands"],
        clusters["rows"],
        summary.outcomes,
    )
    return {
        "out_dir": str(out_dir),
        "documents": summary.documents,
        "kept": summary.kept,
        "rejected": summary.outcomes,
        "clusters": clusters["clusters"],
        "cluster_sizes": clusters["cluster_sizes"],
    }


@task(name="train_quality_classifier")
def train_quality_classifier(settings: QualityTrainSettings, deduped_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Positives (high-karma documents or a reference corpus) vs negatives → a fastText model and its metrics."""
    positives = settings.positives or [deduped_dir]
    metrics = train_quality_model(positives, settings.negatives, out_dir, settings.to_config())
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
    settings: FilterSettings, docs_dir: Path, out_dir: Path, trained_model: Path | None
) -> dict[str, Any]:
    """Documents → those in the wanted languages that pass the Gopher rules and the quality selection."""
    summary = run_filter(docs_dir, out_dir, settings.to_config(trained_model), workers=settings.workers)
    get_run_logger().info(
        "filter: kept %s of %s documents; languages %s; rejected %s",
        summary.kept,
        summary.documents,
        summary.languages,
        summary.outcomes,
    )
    return {
        "out_dir": str(out_dir),
        "documents": summary.documents,
        "kept": summary.kept,
        "rejected": summary.outcomes,
        "languages": summary.languages,
    }


@flow(name="webtext", log_prints=True)
def webtext(config_path: str = DEFAULT_CONFIG) -> dict[str, Any]:
    """Build the corpus described by the run config at ``config_path``."""
    config = load_run_config(config_path)
    result: dict[str, Any] = {"config": config_path}
    if config.sample.generate:
        result["sample"] = generate_sample_data(config.sample)
    result["harvest"] = harvest_links(config.harvest, config.urls_dir)
    sample_web = config.sample.dir / "web" if config.sample.generate else None
    result["fetch"] = fetch_pages(config.fetch, config.urls_dir, config.fetch_dir, sample_web)
    result["extract"] = extract_documents(config.extract, config.fetch_dir, config.extracted_dir)
    result["dedup"] = dedup_documents(config.dedup, config.extracted_dir, config.deduped_dir)
    trained_model = None
    if config.quality_train is not None:
        result["quality"] = train_quality_classifier(config.quality_train, config.deduped_dir, config.quality_model_dir)
        trained_model = Path(result["quality"]["model"])
    result["filter"] = filter_documents(config.filter, config.deduped_dir, config.filtered_dir, trained_model)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the webtext flow once, reporting to the Prefect API.")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="run config YAML")
    args = parser.parse_args(argv)
    result = webtext(args.config)
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
