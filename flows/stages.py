"""The data half of the ``webtext`` flow: one step per stage, harvest … tokenize.

Tasks receive paths and return small summaries; the data moves only through files under ``data_root``.
The per-shard stages (extract, filter, tokenize) open their stage in the flow's process (folder lock, plan)
and map one task per shard over the run's task runner (``flows.runners``); fetch stays one task (one
crawler keeps each host's politeness), dedup and the quality classifier are Spark and fastText jobs.
Dedup and decontaminate (its Wikipedia join) run in the flow's process whatever the task runner, so they
share the run's one Spark session (``SharedSession``), paying its start-up once; a stage called alone
(the CLI) starts its own. The run's ``order`` puts filter before or after dedup: each reads the folder of
the stage before it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from flows.config import (
    DecontaminateSection,
    DedupSection,
    EvaluateSection,
    ExtractSection,
    FetchSection,
    FilterSection,
    HarvestSection,
    QualityTrainSection,
    RunConfig,
    SampleSettings,
    TokenizeSection,
    match_dumps,
)
from flows.runners import ShardTasks
from pipeline.benchmarks.registry import BENCHMARKS
from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.stage import run_decontaminate
from pipeline.dedup.stage import run_dedup
from pipeline.extract.stage import open_extract
from pipeline.fetch.stage import run_fetch
from pipeline.filter.quality_train import train_quality_model
from pipeline.filter.stage import open_filter
from pipeline.harvest.dumps import CorruptDumpError
from pipeline.harvest.reddit_api import RedditApiError
from pipeline.harvest.stage import harvest
from pipeline.sample.generate import generate_sample
from pipeline.sample.server import serve_sample_web
from pipeline.spark.session import SharedSession
from pipeline.stage import StageSummary, headline
from pipeline.tokenize.stage import open_tokenize

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
    dumps, unmatched = match_dumps(section.dumps)
    if unmatched:
        raise FileNotFoundError(f"harvest dumps: no file matches {', '.join(map(repr, unmatched))}")
    return log_summary(harvest(dumps, out_dir, section.config(), api))


@task(name="fetch_pages", retries=1, retry_delay_seconds=60, retry_condition_fn=retry_when_transient)
def fetch_pages(section: FetchSection, urls_dir: Path, out_dir: Path, sample_web: Path | None) -> dict[str, Any]:
    """Harvested URLs → WARC + pages index; resumable, so a retry continues where it stopped."""
    cfg = section.config()
    if section.crawl_sample_web and sample_web is not None:
        with serve_sample_web(sample_web) as web:
            pinned = dataclasses.replace(cfg, resolve={**cfg.resolve, **web.resolve})
            return log_summary(run_fetch(urls_dir, out_dir, pinned))
    return log_summary(run_fetch(urls_dir, out_dir, cfg))


def extract_documents(
    section: ExtractSection, fetch_dir: Path, out_dir: Path, shards: ShardTasks, replace: bool = False
) -> dict[str, Any]:
    """Archived pages → Document shards (main text), one mapped task per pages shard; rejects under rejected/."""
    if ignored := section.config().ignored_optouts():
        get_run_logger().warning(
            "extract: site opt-outs not honoured (%s): pages reserved from AI training can enter the corpus",
            ", ".join(ignored),
        )
    with open_extract(fetch_dir, out_dir, section.config(), replace=replace) as sharded:
        return log_summary(sharded.finish(shards.run(sharded)))


# the run's Spark session is a parameter Prefect cannot hash for a cache key; these stages skip finished work
# themselves, so Prefect's cache would add nothing
@task(name="dedup_documents", cache_policy=NO_CACHE)
def dedup_documents(
    section: DedupSection, docs_dir: Path, out_dir: Path, replace: bool = False, spark: SharedSession | None = None
) -> dict[str, Any]:
    """Documents → the same shards without exact and near duplicates (Spark); the dropped ones under rejected/dedup/."""
    cfg = section.config()
    return log_summary(run_dedup(docs_dir, out_dir, cfg, against=section.against, spark=spark, replace=replace))


@task(name="train_quality_classifier")
def train_quality_classifier(section: QualityTrainSection, docs_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Positives (high-karma documents or a reference corpus; by default ``docs_dir``, what the filter reads) vs
    negatives → a fastText model and its metrics."""
    positives = section.positives or [docs_dir]
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


def filter_documents(
    section: FilterSection,
    docs_dir: Path,
    out_dir: Path,
    trained_model: Path | None,
    shards: ShardTasks,
    replace: bool = False,
) -> dict[str, Any]:
    """Documents → those in the wanted languages that pass the Gopher rules and the quality selection; one mapped
    task per docs shard."""
    cfg = section.config()
    if cfg.quality.model_path is None and trained_model is not None:
        cfg = dataclasses.replace(cfg, quality=dataclasses.replace(cfg.quality, model_path=str(trained_model)))
    with open_filter(docs_dir, out_dir, cfg, replace=replace) as sharded:
        return log_summary(sharded.finish(shards.run(sharded)))


def evaluated_files(evaluate: EvaluateSection) -> dict[str, Path]:
    """The benchmarks the evaluate section scores whose files are found, found as evaluation finds them (its data
    folder, ``$WEBTEXT_EVAL_DIR``, its task paths): the demo's LAMBADA and WikiText-2 when ../shared is there."""
    cfg = evaluate.config()
    files = {name: cfg.task_file(name, BENCHMARKS[name].filename) for name in cfg.tasks}
    return {name: path for name, path in files.items() if path.is_file()}


def decontamination_sets(section: DecontaminateSection, evaluate: EvaluateSection) -> tuple[list[EvalSet], list[str]]:
    """The sets decontaminate cuts: the section's own, then (``evaluated_sets``) every evaluated benchmark not among
    them, read as evaluation reads it; and the evaluated benchmarks left uncut (only with ``evaluated_sets`` off)."""
    eval_sets = [EvalSet.parse(spec) for spec in section.eval_sets]
    named = {eval_set.name for eval_set in eval_sets}
    uncut = {name: path for name, path in evaluated_files(evaluate).items() if name not in named}
    if not section.evaluated_sets:
        return eval_sets, list(uncut)
    return [*eval_sets, *(EvalSet.of_benchmark(name, path) for name, path in uncut.items())], []


@task(name="decontaminate_documents", cache_policy=NO_CACHE)
def decontaminate_documents(
    section: DecontaminateSection,
    evaluate: EvaluateSection,
    docs_dir: Path,
    out_dir: Path,
    replace: bool = False,
    spark: SharedSession | None = None,
) -> dict[str, Any]:
    """Documents → the corpus: no Wikipedia pages, no evaluation or Wikipedia text, personal data masked; GPT-2's
    overlap report. The evaluation sets include those the run evaluates on (``evaluated_sets``), or the log says
    which are not cut; the log warns when personal data is not masked (``mask_pii`` off)."""
    eval_sets, uncut = decontamination_sets(section, evaluate)
    if uncut:
        get_run_logger().warning(
            "decontaminate: the run evaluates on %s but does not cut them from the corpus (evaluated_sets is off)",
            ", ".join(uncut),
        )
    get_run_logger().info("decontaminate against: %s", ", ".join(item.name for item in eval_sets) or "no eval set")
    cfg = section.config()
    if not cfg.mask_pii:
        get_run_logger().warning(
            "decontaminate: mask_pii is off: email addresses, phone numbers and IP addresses stay in the corpus"
        )
    dumps = section.wikipedia_dumps
    summary = run_decontaminate(docs_dir, out_dir, cfg, eval_sets, dumps, replace=replace, spark=spark)
    for moment in ("before", "after"):
        if report := summary.details.get(f"overlap_{moment}"):
            get_run_logger().info("8-gram overlap with the evaluation sets, %s:\n%s", moment, report["table"])
    return log_summary(summary)


def tokenize_corpus(
    section: TokenizeSection, corpus_dir: Path, out_dir: Path, shards: ShardTasks, replace: bool = False
) -> dict[str, Any]:
    """The corpus → token shards (train and val) with the tokenizer's files and a manifest; the tokenizer is trained
    (or checked) first, then one mapped task per corpus shard."""
    with open_tokenize(corpus_dir, out_dir, section.config(), replace=replace) as sharded:
        summary = sharded.finish(shards.run(sharded))
    details = summary.details
    get_run_logger().info("tokenizer %s (%s ids, %s)", details["tokenizer"], details["vocab_size"], details["dtype"])
    return log_summary(summary)


def dedup_step(config: RunConfig, spark: SharedSession | None) -> dict[str, Any]:
    """Dedup what the stage before it left; then the run's Spark session stops unless the Wikipedia join needs it."""
    summary = dedup_documents(config.dedup, config.input_dir("dedup"), config.deduped_dir, config.replace, spark)
    if spark is not None and not config.may_join_wikipedia_in_spark:
        spark.close()  # its cached blocks and shuffle files would sit through the filter and the rest of the run
    return {"dedup": summary}


def filter_step(config: RunConfig, shards: ShardTasks) -> dict[str, Any]:
    """The quality classifier (when configured, trained on what the filter reads), then the filter."""
    result: dict[str, Any] = {}
    docs_dir, trained_model = config.input_dir("filter"), None
    if config.quality_train is not None:
        quality = train_quality_classifier(config.quality_train, docs_dir, config.quality_model_dir)
        result["quality"], trained_model = quality, Path(quality["model"])
    result["filter"] = filter_documents(
        config.filter, docs_dir, config.filtered_dir, trained_model, shards, config.replace
    )
    return result


def data_stages(config: RunConfig, shards: ShardTasks, spark: SharedSession | None = None) -> dict[str, Any]:
    """harvest → fetch → extract → dedup → filter → decontaminate → tokenize (filter before dedup under ``order:
    filter_first``), those of ``config.stages``; ``spark``: the run's shared session (else each job starts one)."""
    result: dict[str, Any] = {}
    if config.sample.generate:
        result["sample"] = generate_sample_data(config.sample)
    if config.runs("harvest"):
        result["harvest"] = harvest_links(config.harvest, config.urls_dir)
    if config.runs("fetch"):
        sample_web = config.sample.dir / "web" if config.fetch.crawl_sample_web else None
        result["fetch"] = fetch_pages(config.fetch, config.urls_dir, config.fetch_dir, sample_web)
    if config.runs("extract"):
        result["extract"] = extract_documents(
            config.extract, config.fetch_dir, config.extracted_dir, shards, config.replace
        )
    middle = {"dedup": lambda: dedup_step(config, spark), "filter": lambda: filter_step(config, shards)}
    for stage in config.stage_order:
        if stage in middle and config.runs(stage):
            result |= middle[stage]()
    if config.runs("decontaminate"):
        section, corpus = config.decontaminate, config.corpus_dir
        result["decontaminate"] = decontaminate_documents(
            section, config.evaluate, config.input_dir("decontaminate"), corpus, config.replace, spark
        )
    if config.runs("tokenize"):
        result["tokenize"] = tokenize_corpus(
            config.tokenize, config.corpus_dir, config.tokens_dir, shards, config.replace
        )
    return result
