"""Which MLflow run an evaluation goes to: one run per (model, evaluation fingerprint), whatever kills it meanwhile.

An evaluation's run carries its fingerprint (``webtext.eval_fingerprint``: the model's weights, each task's version
and file, the settings that change a number) and the model's identity (``webtext.model_identity``). So:

- a FINISHED run with the fingerprint is the answer: it is read back, not rerun;
- a run with the fingerprint left RUNNING (its process was killed) or FAILED (a task failed) is resumed: the
  evaluation continues in it, and the tasks it already logged (each task logs ``<task>_examples`` with its other
  metrics, in one batch) are not scored again;
- a RUNNING run of the same model reference that can never resume, because the weights at that reference changed
  or the evaluation's settings did, is marked KILLED with a ``webtext.killed_reason`` tag. No run stays RUNNING.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.tracking import KIND_TAG

FINGERPRINT_TAG = "webtext.eval_fingerprint"
MODEL_IDENTITY_TAG = "webtext.model_identity"
KILLED_REASON_TAG = "webtext.killed_reason"
MODEL_PARAM = "model"
STAGE = "evaluate"


def _search(uri: str, experiment: str, filter_string: str) -> list[Any]:
    import mlflow

    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return list(client.search_runs([found.experiment_id], filter_string=filter_string, order_by=["start_time DESC"]))


def fingerprint_runs(uri: str, experiment: str, key: str) -> list[Any]:
    """Every run with evaluation fingerprint ``key``, newest first."""
    return _search(uri, experiment, f"tags.`{FINGERPRINT_TAG}` = '{key}'")


def finished_run(runs: Iterable[Any]) -> Any | None:
    """The finished one among ``runs``: rerunning it would give the same numbers."""
    return next((run for run in runs if run.info.status == "FINISHED"), None)


def resumable_run(runs: Iterable[Any]) -> Any | None:
    """The newest run killed (left RUNNING) or failed with the same fingerprint: the evaluation continues in it."""
    return next((run for run in runs if run.info.status in ("RUNNING", "FAILED")), None)


def completed_tasks(run: Any | None, tasks: Iterable[str]) -> set[str]:
    """The tasks ``run`` already logged: their metrics arrive in one batch with ``<task>_examples``."""
    metrics = run.data.metrics if run is not None else {}
    return {task for task in tasks if f"{task}_examples" in metrics}


def retire_superseded(uri: str, experiment: str, ref: str, identity: str, key: str) -> list[str]:
    """Mark KILLED the RUNNING evaluations of model ``ref`` that can never resume (other weights or settings than
    ``key``'s), each with the reason; returns their ids."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    running = _search(uri, experiment, f"tags.`{KIND_TAG}` = '{STAGE}' and attributes.status = 'RUNNING'")
    retired = []
    for run in running:
        if run.data.params.get(MODEL_PARAM) != ref or run.data.tags.get(FINGERPRINT_TAG) == key:
            continue
        if run.data.tags.get(MODEL_IDENTITY_TAG) not in (None, identity):
            reason = f"the model at {ref} changed since (weights {identity[:12]} now); it is evaluated in a new run"
        else:
            reason = f"superseded by an evaluation of the same model with other tasks or settings ({key})"
        client.set_tag(run.info.run_id, KILLED_REASON_TAG, reason)
        client.set_terminated(run.info.run_id, "KILLED")
        retired.append(run.info.run_id)
    return retired
