"""The ``webtext`` Prefect flow: the DAG of docs/architecture.md, harvest → … → tokenize → train → evaluate → compare.

The data half (``flows.stages``) maps its per-shard stages over the run's task runner; the model half
(``flows.models``) records the corpus version, trains each size when due and evaluates it; the run report
(``flows.report``) closes every run. Tasks receive paths and return small summaries; the data moves only
through files under ``data_root``, so any task can be rerun alone and skips finished work. Run it directly
(``python -m flows.webtext --config flows/configs/sample.yaml``), or serve the ``webtext-build`` deployment
(``python -m flows.serve``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from prefect import flow

from flows.config import RunConfig, expand_stages, load_run_config
from flows.models import compare_sizes, evaluate_model, model_label, model_stages, record_corpus_version
from flows.report import write_report
from flows.runners import ShardTasks
from flows.stages import data_stages
from pipeline.services.preflight import check_services
from pipeline.spark.session import SharedSession
from pipeline.stage import StageSummary, headline
from pipeline.tokenize.tokens_folder import has_manifest

MAPPED_STAGES = ("extract", "filter", "tokenize")  # run on the task runner, one task per shard

DEFAULT_CONFIG = "flows/configs/sample.yaml"


@flow(name="webtext", log_prints=True)
def webtext(
    config_path: str = DEFAULT_CONFIG,
    stages: list[str] | None = None,
    train: bool | None = None,
    evaluate_models: list[str] | None = None,
) -> dict[str, Any]:
    """Build the corpus described by the run config at ``config_path``, then train and evaluate on it.

    ``stages`` runs a slice instead of the config's stages (stage names, or ``data``: harvest … tokenize,
    ``models``: train and evaluate on the existing tokens); ``train`` forces (``True``) or skips (``False``)
    training, which otherwise runs when the corpus grew by ``train.min_new_tokens``; ``evaluate_models`` evaluates
    these models (run folders, checkpoints, exports or MLflow run ids) with the config's tasks.
    """
    config = load_run_config(config_path)
    if stages is not None:
        config = config.model_copy(update={"stages": expand_stages(stages)})
    result: dict[str, Any] = {"config": config_path}
    check_run_services(config, evaluate_models)
    # one Spark session for the run's Spark jobs (dedup, the Wikipedia join), started by the first, stopped here
    with ShardTasks(config.service_settings) as shards, contextlib.closing(SharedSession()) as spark:
        result |= data_stages(config, shards, spark)
    if config.runs("train") or config.runs("evaluate") or config.runs("tokenize"):
        if has_manifest(config.tokens_dir):
            result["version"] = record_corpus_version(config, config_path)
    trained, latest_models = model_stages(config, result.get("version"), train)
    result |= trained
    models = [*latest_models, *(evaluate_models or [])]
    if config.runs("evaluate") or evaluate_models:
        for model in models:
            result[f"evaluate {model_label(model)}"] = evaluate_model(config.evaluate, str(model), config.data_root)
        if models:
            version = result.get("version")
            result["compare"] = compare_sizes(config.evaluate, config.data_root, config.comparison_dir, version)
    result["report"] = write_report(config, result)
    return result


def check_run_services(config: RunConfig, evaluate_models: list[str] | None) -> None:
    """Fail before any work when a service this run will use does not answer (the message names the setting)."""
    services = config.service_settings
    mapped = any(config.runs(stage) for stage in MAPPED_STAGES)
    check_services(
        services,
        ray=config.runs("train") or (mapped and services.task_runner.kind == "ray"),
        spark=config.runs("dedup") or config.may_join_wikipedia_in_spark,
        mlflow=config.runs("train") or config.runs("evaluate") or bool(evaluate_models),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the webtext flow once, reporting to the Prefect API.")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="run config YAML")
    parser.add_argument("--stages", nargs="+", default=None, help="a slice: stage names, `data` or `models`")
    parser.add_argument(
        "--train", action=argparse.BooleanOptionalAction, default=None, help="train now (or never) whatever the growth"
    )
    parser.add_argument("--evaluate", nargs="+", default=None, metavar="MODEL", help="also evaluate these models")
    args = parser.parse_args(argv)
    result = webtext(args.config, stages=args.stages, train=args.train, evaluate_models=args.evaluate)
    print(console_lines(result))
    if "version" in result:
        version = result["version"]
        print(f"corpus version {version['name']} ({'new' if version['new'] else 'unchanged'}): {version['path']}")
    if "report" in result:
        print(f"run report: {result['report']['dir']}/report.md")
    if "compare" in result:
        print(f"\nmodel sizes ({result['compare']['out_dir']}):\n{result['compare']['table']}", end="")
    return 0


def console_lines(result: dict[str, Any]) -> str:
    """What the console shows of a run: one line per stage that ran, its headline counts, work units and time (the
    full summaries are in the task results and each stage's summary.json; the run report is the ``run_report``
    task's)."""
    lines = [f"webtext run of {result['config']}:"]
    for stage, value in result.items():
        if isinstance(value, dict) and "units" in value:  # a stage summary, as its task returned it
            summary = StageSummary.from_json(value, f"the {stage} task's result")
            units = f"{summary.units_done}/{summary.units} units done"
            lines.append(
                f"  {stage:<13} {headline(summary.counts)}; {units}, {summary.seconds:.1f} s -> {summary.out_dir}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
