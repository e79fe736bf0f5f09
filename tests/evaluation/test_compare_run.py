"""The comparison is one MLflow run per corpus version, updated in place; comparing again with nothing new writes
nothing, and a run a kill left open is finished by the next comparison (a real SQLite store)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from evaluation.compare_run import TABLE_TAG, log_comparison
from pipeline.tracking import KIND_TAG, experiment_id


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


V1 = {"name": "v0001", "corpus_sha256": "11" * 32, "path": "/data/versions/v0001.json"}  # a version manifest's
V2 = {"name": "v0002", "corpus_sha256": "22" * 32, "path": "/data/versions/v0002.json"}


def tables(folder: Path, rows: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "comparison.md").write_text(f"| model | lambada_acc |\n| --- | --- |\n{rows}")
    (folder / "comparison.csv").write_text(f"model,lambada_acc\n{rows.replace(' | ', ',').strip('| ')}")
    return [folder / "comparison.md", folder / "comparison.csv"]


def runs(uri: str) -> list:
    client = mlflow.MlflowClient(uri)
    return client.search_runs([experiment_id(uri, "webtext")], f"tags.`{KIND_TAG}` = 'compare'")


def test_one_run_per_version_updated_only_when_the_table_changed(store: str, tmp_path: Path) -> None:
    first = tables(tmp_path / "a", "| tiny | 0.10 |\n")
    run_id, written = log_comparison(store, "webtext", first, first, version=V1)
    assert written and [run.info.run_name for run in runs(store)] == ["compare-v0001"]
    assert log_comparison(store, "webtext", first, first, version=V1) == (run_id, False)  # nothing new
    grown = tables(tmp_path / "b", "| tiny | 0.10 |\n| mini | 0.20 |\n")
    assert log_comparison(store, "webtext", grown, grown, version=V1) == (run_id, True)  # a size was added
    (run,) = runs(store)
    assert run.info.status == "FINISHED" and run.data.tags[TABLE_TAG] != ""
    assert run.data.tags["webtext.corpus_sha256"] == V1["corpus_sha256"]  # the version's lineage, as the report's
    artifacts = mlflow.MlflowClient(store).download_artifacts(run_id, "comparison.md", str(tmp_path / "got"))
    assert "mini" in Path(artifacts).read_text()  # the files were replaced
    other, written = log_comparison(store, "webtext", grown, grown, version=V2)
    assert written and other != run_id and len(runs(store)) == 2  # a new corpus version gets its own run


def test_without_a_version_the_table_itself_is_the_key(store: str, tmp_path: Path) -> None:
    first = tables(tmp_path / "a", "| tiny | 0.10 |\n")
    run_id, _ = log_comparison(store, "webtext", first, first)
    again = tables(tmp_path / "again", "| tiny | 0.10 |\n")  # the same table, written elsewhere
    assert log_comparison(store, "webtext", again, again) == (run_id, False)
    changed = tables(tmp_path / "c", "| tiny | 0.12 |\n")
    assert log_comparison(store, "webtext", changed, changed)[0] != run_id and len(runs(store)) == 2


def test_a_run_left_open_by_a_kill_is_finished_by_the_next_comparison(store: str, tmp_path: Path) -> None:
    client = mlflow.MlflowClient(store)
    tags = {KIND_TAG: "compare", "webtext.corpus_version": "v0001"}
    ghost = client.create_run(experiment_id(store, "webtext"), run_name="compare-v0001", tags=tags).info.run_id
    first = tables(tmp_path / "a", "| tiny | 0.10 |\n")
    assert log_comparison(store, "webtext", first, first, version=V1) == (ghost, True)
    (run,) = runs(store)
    assert run.info.run_id == ghost and run.info.status == "FINISHED"
