"""The comparison's MLflow run: one per corpus version, updated in place; a comparison with nothing new logs nothing.

The flow compares the model sizes after every run. Were each comparison a new run, every rerun (and every resume
after a kill) would add one more ``compare`` run beside the last, all alike. So the run is found again by the
corpus version it compares (``webtext.corpus_version``), or, for a comparison made outside the flow, by its table
(``webtext.comparison_sha256``, the hash of its Markdown and CSV); its files are replaced when the table changed,
and nothing is written when it did not. The table's hash is set last, so a kill midway leaves a run that the next
comparison updates and finishes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.lineage import CORPUS_TAG, MANIFEST_TAG, VERSION_TAG
from pipeline.tracking import KIND_TAG, experiment_id

COMPARE_KIND = "compare"
TABLE_TAG = "webtext.comparison_sha256"


def table_sha256(tables: Sequence[Path]) -> str:
    """The identity of a comparison: its tables' bytes (the plot, whose PNG bytes may vary, is left out)."""
    digest = hashlib.sha256()
    for path in tables:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def log_comparison(
    uri: str,
    experiment: str,
    tables: Sequence[Path],
    files: Sequence[Path],
    version: Mapping[str, Any] | None = None,
) -> tuple[str, bool]:
    """Log ``files`` to the comparison run of corpus ``version`` (its manifest: the run gets its lineage tags, as the
    report's does) or, without one, of these ``tables``; returns the run's id and whether anything was written
    (``False``: that run already shows this table)."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    key = table_sha256(tables)
    experiment_key = experiment_id(uri, experiment)
    match = f"tags.`{VERSION_TAG}` = '{version['name']}'" if version else f"tags.`{TABLE_TAG}` = '{key}'"
    found = client.search_runs(
        [experiment_key],
        filter_string=f"tags.`{KIND_TAG}` = '{COMPARE_KIND}' and {match}",
        order_by=["start_time DESC"],
    )
    if found and found[0].data.tags.get(TABLE_TAG) == key and found[0].info.status == "FINISHED":
        return found[0].info.run_id, False
    if found:
        run_id = found[0].info.run_id
        client.update_run(run_id, status="RUNNING")
    else:
        tags = {KIND_TAG: COMPARE_KIND}
        if version:
            tags |= {VERSION_TAG: version["name"], CORPUS_TAG: version["corpus_sha256"], MANIFEST_TAG: version["path"]}
        name = f"compare-{version['name']}" if version else "compare"
        run_id = client.create_run(experiment_key, run_name=name, tags=tags).info.run_id
    for path in files:
        client.log_artifact(run_id, str(path))
    client.set_tag(run_id, TABLE_TAG, key)
    client.set_terminated(run_id, "FINISHED")
    return run_id, True
