"""The run report as Prefect artifacts and in MLflow: ``pipeline.report`` writes it under ``DATA_ROOT/report``.

In the Prefect UI the flow run's Artifacts tab holds the report (Markdown) and its tables (the funnel,
languages, domains, duplicate clusters, models); the plots and the report go to an MLflow run
``report-<corpus version>`` beside the training runs, tagged with the version's lineage.
"""

from __future__ import annotations

import re
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from flows.config import RunConfig
from pipeline.report import RunReport, build_report
from pipeline.report.mlflow_run import log_report
from pipeline.tracking import tracking_uri

ARTIFACT_PREFIX = "webtext"


def artifact_key(name: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) for the report's table ``name``."""
    return f"{ARTIFACT_PREFIX}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"


def prefect_markdown(report: RunReport) -> str:
    """The report without its images (a Prefect artifact cannot show files of the run directory): where they are
    instead."""
    lines = [line for line in report.markdown.splitlines() if not line.lstrip().startswith("![")]
    plots = ", ".join(path.name for path in report.plots.values())
    return "\n".join([*lines, "", f"Plots ({plots}): in `{report.out_dir}` and the MLflow run `report-<version>`."])


@task(name="run_report")
def write_report(config: RunConfig, result: dict[str, Any]) -> dict[str, Any]:
    """Write the run report, publish it as Prefect artifacts, and log it to MLflow when the run has a corpus
    version (so the plots sit beside the models trained on it)."""
    report = build_report(config.data_root, config.report_dir)
    create_markdown_artifact(prefect_markdown(report), key=artifact_key("run-report"), description="the run report")
    for name, rows in report.tables.items():
        if rows:
            create_table_artifact(rows, key=artifact_key(name), description=f"run report: {name}")
    report_md = (report.out_dir / "report.md").resolve()
    create_link_artifact(report_md.as_uri(), link_text=str(report_md), key=artifact_key("report-file"))
    logged = None
    if (version := result.get("version")) is not None:
        mlflow = config.service_settings.mlflow
        uri = tracking_uri(mlflow.tracking_uri, config.data_root)
        logged = log_report(uri, mlflow.experiment, version, report.files)
        if uri.startswith(("http://", "https://")):  # a tracking server: link its page of the report run
            page = f"{uri.rstrip('/')}/#/experiments/{logged.experiment_id}/runs/{logged.run_id}"
            create_link_artifact(page, link_text=f"MLflow: report-{version['name']}", key=artifact_key("mlflow"))
    if report.not_decontaminated:
        get_run_logger().warning(
            "run report: models were evaluated on %s, which the corpus was not decontaminated against (see the "
            "report's warning)",
            ", ".join(report.not_decontaminated),
        )
    if report.ignored_optouts:
        get_run_logger().warning(
            "run report: the corpus may hold pages whose sites opted out of AI training (not honoured: %s)",
            ", ".join(report.ignored_optouts),
        )
    if report.consistency:
        get_run_logger().warning("run report: counts that do not add up: %s", "; ".join(report.consistency))
    get_run_logger().info("run report: %s (not run: %s)", report.out_dir, ", ".join(report.not_run) or "nothing")
    run_id = logged.run_id if logged else None
    return {"dir": str(report.out_dir), "files": [path.name for path in report.files], "mlflow_run_id": run_id}
