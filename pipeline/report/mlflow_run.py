"""The run report in MLflow: one run per corpus version, beside the model sizes it reports on."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.lineage import CORPUS_TAG, MANIFEST_TAG, VERSION_TAG
from pipeline.tracking import KIND_TAG, experiment_id

REPORT_KIND = "report"


def log_report(uri: str, experiment: str, version: Mapping[str, Any], files: list[Path]) -> Any:
    """Log the run report's files to the run ``report-<version>`` (one per corpus version, updated by each flow run
    that reports on it), tagged with the version's hashes; returns its ``RunInfo`` (``run_id``, ``experiment_id``)."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    experiment_key = experiment_id(uri, experiment)
    name = f"report-{version['name']}"
    found = client.search_runs(
        [experiment_key],
        filter_string=f"tags.`{KIND_TAG}` = '{REPORT_KIND}' and tags.`{VERSION_TAG}` = '{version['name']}'",
    )
    tags = {
        KIND_TAG: REPORT_KIND,
        VERSION_TAG: version["name"],
        CORPUS_TAG: version["corpus_sha256"],
        MANIFEST_TAG: version["path"],
    }
    info = found[0].info if found else client.create_run(experiment_key, run_name=name, tags=tags).info
    for path in files:
        if path.is_file():
            client.log_artifact(info.run_id, str(path), artifact_path="report")
    client.set_terminated(info.run_id, "FINISHED")
    return info
