"""The model-size table from evaluation runs in an MLflow store (three fake runs, the paper's rows beside)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import mlflow
import pytest

from evaluation.compare import KIND_TAG, compare_models, evaluation_rows, markdown_table, paper_rows
from pipeline.tracking import experiment_id


def fake_eval(uri: str, size: str, n_params: int, metrics: dict[str, float], limit: str = "none") -> str:
    client = mlflow.MlflowClient(uri)
    tags = {KIND_TAG: "evaluate", "model_size": size, "n_params": str(n_params)}
    run = client.create_run(experiment_id(uri, "webtext"), run_name=f"eval-{size}", tags=tags)
    client.log_param(run.info.run_id, "limit", limit)
    for key, value in metrics.items():
        client.log_metric(run.info.run_id, key, value, step=0)
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


@pytest.fixture
def store(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    fake_eval(uri, "mini", 3_727_616, {"lambada_acc": 0.02, "lambada_ppl": 9000.0, "wikitext2_word_ppl": 4000.0})
    fake_eval(uri, "tiny", 680_832, {"lambada_acc": 0.01, "lambada_ppl": 20000.0, "wikitext2_word_ppl": 9000.0})
    fake_eval(uri, "124M", 124_439_808, {"lambada_acc": 0.31, "lambada_ppl": 60.5}, limit="100")
    return uri


def test_rows_are_the_latest_run_per_size_smallest_first(store: str) -> None:
    newer = fake_eval(store, "tiny", 680_832, {"lambada_acc": 0.015, "lambada_ppl": 15000.0})
    rows = evaluation_rows(store, "webtext")
    assert [row.label for row in rows] == ["tiny", "mini", "124M"]
    assert rows[0].run_id == newer and rows[0].metrics["lambada_ppl"] == 15000.0
    assert rows[2].limit == "100"


def test_table_csv_plot_and_compare_run(store: str, tmp_path: Path) -> None:
    result = compare_models(store, "webtext", tmp_path / "comparison")
    table = result["table"]
    lines = table.splitlines()
    assert lines[0] == "| model | parameters | limit | LAMBADA (PPL) | LAMBADA (ACC) | WikiText2 (PPL) |"
    assert lines[2] == "| tiny | 0.7M | none | 20000.00 | 1.00 | 9000.00 |"
    assert lines[4] == "| 124M | 124.4M | 100 | 60.50 | 31.00 | – |"  # a column its run did not measure
    assert "| GPT-2 117M (paper) | 117.0M | none | 35.13 | 45.99 | 29.41 |" in lines
    assert len(lines) == 2 + 3 + 4
    rows = list(csv.reader(io.StringIO((tmp_path / "comparison" / "comparison.csv").read_text())))
    assert rows[0][:4] == ["model", "n_params", "limit", "mlflow_run_id"] and len(rows) == 1 + 3 + 4
    assert (tmp_path / "comparison" / "comparison.png").stat().st_size > 10_000
    client = mlflow.MlflowClient(store)
    artifacts = {artifact.path for artifact in client.list_artifacts(result["mlflow_run_id"])}
    assert artifacts == {"comparison.md", "comparison.csv", "comparison.png"}
    assert client.get_run(result["mlflow_run_id"]).data.tags[KIND_TAG] == "compare"
    assert len(evaluation_rows(store, "webtext")) == 3  # the compare run is not an evaluation
    again = compare_models(store, "webtext", tmp_path / "again")  # nothing new: no run, no artifact written
    assert (again["mlflow_run_id"], again["logged"]) == (result["mlflow_run_id"], False)


def test_paper_reference_rows_are_table_3() -> None:
    rows = {row.label: row.metrics for row in paper_rows()}
    assert rows["GPT-2 1542M (paper)"]["lambada_ppl"] == 8.63 and rows["GPT-2 117M (paper)"]["ptb_word_ppl"] == 65.85
    # columns are those the evaluated runs have: with none, the paper's rows show only name, size and limit
    assert markdown_table([], paper_rows()).splitlines()[0] == "| model | parameters | limit |"


def test_missing_experiment_and_no_evaluations_are_clear_errors(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(ValueError, match="experiment 'webtext' not found"):
        compare_models(uri, "webtext", tmp_path / "out")
    experiment_id(uri, "webtext")
    with pytest.raises(ValueError, match="no evaluation runs"):
        compare_models(uri, "webtext", tmp_path / "out")
