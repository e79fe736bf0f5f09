"""``run_evaluation`` end to end on a small exported model: MLflow run nested under its training run, every task's
metrics logged as it finishes, a failing task keeps the others' metrics, bad input fails before the model loads."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import torch

from evaluation import model_loading
from evaluation import run as evaluation_run
from evaluation.config import EvalConfig
from evaluation.run import EvaluationFailed, run_evaluation, task_files
from evaluation.tasks import TASKS
from pipeline.lineage import MANIFEST_TAG
from pipeline.stage import StageSummary
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.folder import new_tokenizer
from pipeline.tracking import start_run
from training.export import export_hf
from training.model import GPT, GPTConfig

PARAGRAPHS = [
    "The river rose through the night and by morning the old mill stood in water up to its windows.",
    "She counted the boats twice, then a third time, because the harbour master never trusted a single count.",
    "Rain fell on the market square, and the traders pulled their canvas roofs tight against the wind.",
]
LAMBADA = [{"text": text} for text in PARAGRAPHS]
WIKITEXT = (
    " \n = Mill = \n \n The mill stood by the river @-@ bank . \n \n = Harbour = \n \n Boats came in , 3 @,@ 000 . \n"
)


REPO_ROOT = Path(__file__).resolve().parents[2]


def train_summary(run_folder: Path, uri: str) -> None:
    """The summary.json ``webtext train`` leaves, naming its MLflow store."""
    StageSummary("train", str(run_folder), {}, {"steps": 1}, 1, 0, 1.0, {"mlflow_tracking_uri": uri}).write()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A training run folder as ``webtext train`` leaves it: hf/ export, summary.json naming its MLflow store, and
    the training run in that store. Returns the folder, the store URI and the training run id."""
    root = tmp_path_factory.mktemp("evaluate")
    tokens = root / "tokens"
    config = TokenizeConfig(tokenizer="bpe", vocab_size=400)
    new_tokenizer(tokens, "bpe", config, lambda: iter(PARAGRAPHS * 20), [])
    StageSummary("tokenize", str(tokens), {}, {}, 1, 0, 0.5, {"docs_dir": str(root / "corpus")}).write()
    report = root / "corpus" / "_reports" / "after" / "overlap.md"
    report.parent.mkdir(parents=True)
    report.write_text("| eval set | 8-grams | found |\n", encoding="utf-8")
    uri = f"sqlite:///{root / 'store' / 'mlflow.db'}"
    (root / "store").mkdir()
    parent = start_run(uri, "webtext", "train-tiny", {"tokens_dir": str(tokens)}, {"model_size": "tiny"})
    identity = json.loads((tokens / "tokenizer" / "identity.json").read_text())
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=32, block_size=32, vocab_size=identity["vocab_size"]))
    run_folder = root / "run"
    export_hf(model, tokens / "tokenizer", run_folder / "hf", {"model_size": "tiny", "mlflow_run_id": parent})
    train_summary(run_folder, uri)
    (root / "eval").mkdir()
    (root / "eval" / "lambada_test.jsonl").write_text("".join(json.dumps(line) + "\n" for line in LAMBADA))
    (root / "eval" / "wikitext-2.test.txt").write_text(WIKITEXT)
    return run_folder, uri, parent


def eval_config(run_folder: Path, **changes: object) -> EvalConfig:
    return EvalConfig(**{"tasks": ("lambada", "wikitext2"), "data_dir": run_folder.parent / "eval", **changes})


def test_metrics_land_in_a_run_nested_under_the_training_run(trained: tuple[Path, str, str]) -> None:
    run_folder, uri, parent = trained
    summary = run_evaluation(run_folder / "hf", eval_config(run_folder))
    assert summary.details["mlflow_tracking_uri"] == uri  # the store training logged to, found via summary.json
    run = mlflow.MlflowClient(uri).get_run(summary.details["mlflow_run_id"])
    assert run.data.tags["mlflow.parentRunId"] == parent and run.data.tags["model_size"] == "tiny"
    assert run.data.tags["webtext.kind"] == "evaluate" and run.info.status == "FINISHED"
    metrics = run.data.metrics
    assert {"lambada_acc", "lambada_ppl", "wikitext2_word_ppl", "wikitext2_byte_ppl", "wikitext2_bpb"} <= set(metrics)
    assert metrics["lambada_examples"] == 3 and metrics["wikitext2_examples"] == 2
    assert 0.0 <= metrics["lambada_acc"] <= 1.0 and metrics["lambada_ppl"] > 1.0
    assert (
        run.data.params["lambada_version"] == str(TASKS["lambada"].version) and run.data.params["window"] == "disjoint"
    )
    artifacts = {artifact.path for artifact in mlflow.MlflowClient(uri).list_artifacts(run.info.run_id)}
    assert "decontamination" in artifacts  # the corpus's overlap table, found through the tokens folder
    assert (run_folder / "eval_summary.json").is_file()


def test_the_overlap_report_is_the_one_the_training_runs_corpus_version_links(
    trained: tuple[Path, str, str], tmp_path: Path
) -> None:
    run_folder, uri, _ = trained
    linked = tmp_path / "linked-overlap.md"
    linked.write_text("| eval set | 8-grams | found |\n| lambada | 10 | 0 |\n", encoding="utf-8")
    version = tmp_path / "v0001.json"
    version.write_text(json.dumps({"name": "v0001", "reports": {"overlap": str(linked)}}), encoding="utf-8")
    tags = {"model_size": "tiny", MANIFEST_TAG: str(version)}
    parent = start_run(uri, "webtext", "train-tiny-v0001", {"tokens_dir": str(tmp_path / "gone")}, tags)
    tokens = run_folder.parent / "tokens"
    vocab_size = json.loads((tokens / "tokenizer" / "identity.json").read_text())["vocab_size"]
    model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=32, block_size=32, vocab_size=vocab_size))
    export_hf(model, tokens / "tokenizer", tmp_path / "run" / "hf", {"model_size": "tiny", "mlflow_run_id": parent})
    train_summary(tmp_path / "run", uri)
    summary = run_evaluation(tmp_path / "run" / "hf", eval_config(run_folder, tasks=("lambada",), limit=1))
    client = mlflow.MlflowClient(uri)
    shipped = {artifact.path for artifact in client.list_artifacts(summary.details["mlflow_run_id"], "decontamination")}
    assert shipped == {"decontamination/linked-overlap.md"}  # the version's report, not the tokens folder's


def test_the_same_evaluation_again_is_read_back_not_rerun(
    trained: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_folder, _, _ = trained
    first = run_evaluation(run_folder / "hf", eval_config(run_folder, tasks=("lambada",), limit=2))
    monkeypatch.setattr(model_loading, "load_model", lambda *a, **k: pytest.fail("the model was loaded again"))
    again = run_evaluation(run_folder / "hf", eval_config(run_folder, tasks=("lambada",), limit=2, batch_size=3))
    assert again.units_skipped == again.units == 1 and again.details["mlflow_run_id"] == first.details["mlflow_run_id"]
    assert again.details["metrics"] == first.details["metrics"]
    monkeypatch.undo()
    other = run_evaluation(run_folder / "hf", eval_config(run_folder, tasks=("lambada",), limit=3))
    assert other.units_skipped == 0 and other.details["mlflow_run_id"] != first.details["mlflow_run_id"]


def test_a_failing_task_keeps_the_metrics_of_the_others(
    trained: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_folder, uri, _ = trained

    def broken(*_: object) -> dict[str, float]:
        raise RuntimeError("the model fell over")

    wikitext = TASKS["wikitext2"]
    monkeypatch.setitem(evaluation_run.TASKS, "wikitext2", type(wikitext)(**{**vars_of(wikitext), "score": broken}))
    with pytest.raises(EvaluationFailed, match="wikitext2: RuntimeError: the model fell over"):
        run_evaluation(run_folder / "hf", eval_config(run_folder, tasks=("wikitext2", "lambada"), limit=1))
    client = mlflow.MlflowClient(uri)
    failed = [
        run
        for run in client.search_runs([client.get_experiment_by_name("webtext").experiment_id])
        if run.info.status == "FAILED"
    ]
    assert len(failed) == 1 and "lambada_acc" in failed[0].data.metrics
    assert "wikitext2_word_ppl" not in failed[0].data.metrics and "failed_wikitext2" in failed[0].data.tags

    monkeypatch.setitem(evaluation_run.TASKS, "wikitext2", wikitext)  # mended: the same evaluation again
    lambada = TASKS["lambada"]
    monkeypatch.setitem(evaluation_run.TASKS, "lambada", type(lambada)(**{**vars_of(lambada), "score": broken}))
    summary = run_evaluation(run_folder / "hf", eval_config(run_folder, tasks=("wikitext2", "lambada"), limit=1))
    run = client.get_run(failed[0].info.run_id)  # the failed run went on: lambada was kept, not scored again
    assert summary.details["mlflow_run_id"] == run.info.run_id and run.info.status == "FINISHED"
    assert (
        run.data.metrics["lambada_acc"] == failed[0].data.metrics["lambada_acc"] and "wikitext2_bpb" in run.data.metrics
    )
    assert not [tag for tag in run.data.tags if tag.startswith("failed_")]


KILLED_MIDWAY = """
import os, signal, sys
from pathlib import Path
from evaluation import run
from evaluation.config import EvalConfig

def killed(*_):
    os.kill(os.getpid(), signal.SIGKILL)  # the process dies as the second task starts: no cleanup of any kind

wikitext = run.TASKS["wikitext2"]
run.TASKS["wikitext2"] = type(wikitext)(wikitext.benchmark, killed)
config = EvalConfig(tasks=("lambada", "wikitext2"), data_dir=Path(sys.argv[2]), limit=2)
run.run_evaluation(Path(sys.argv[1]), config)
"""


def test_an_evaluation_killed_midway_finishes_in_its_own_run(trained: tuple[Path, str, str]) -> None:
    run_folder, uri, _ = trained
    model, data_dir = run_folder / "hf", run_folder.parent / "eval"
    child = subprocess.run([sys.executable, "-c", KILLED_MIDWAY, str(model), str(data_dir)], cwd=REPO_ROOT)
    assert child.returncode == -signal.SIGKILL
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("webtext").experiment_id
    (ghost,) = client.search_runs([experiment], "tags.`webtext.kind` = 'evaluate' and attributes.status = 'RUNNING'")
    assert "lambada_acc" in ghost.data.metrics and "wikitext2_bpb" not in ghost.data.metrics
    summary = run_evaluation(model, eval_config(run_folder, tasks=("lambada", "wikitext2"), limit=2))
    resumed = client.get_run(ghost.info.run_id)
    assert summary.details["mlflow_run_id"] == ghost.info.run_id and resumed.info.status == "FINISHED"
    assert resumed.data.metrics["lambada_acc"] == ghost.data.metrics["lambada_acc"]
    assert "wikitext2_bpb" in resumed.data.metrics
    same = client.search_runs(
        [experiment], f"tags.`webtext.eval_fingerprint` = '{ghost.data.tags['webtext.eval_fingerprint']}'"
    )
    assert len(same) == 1  # one run per model and evaluation, whatever killed it


def test_a_run_that_can_never_resume_is_killed_with_the_reason(trained: tuple[Path, str, str]) -> None:
    run_folder, uri, _ = trained
    model = run_folder / "hf"
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("webtext").experiment_id
    tags = {"webtext.kind": "evaluate", "webtext.eval_fingerprint": "0" * 16, "webtext.model_identity": "f" * 64}
    stale = client.create_run(experiment, run_name="eval-tiny", tags=tags).info.run_id  # as a killed process left it
    client.log_param(stale, "model", str(model))
    run_evaluation(model, eval_config(run_folder, tasks=("wikitext2",), limit=2))
    run = client.get_run(stale)
    assert (
        run.info.status == "KILLED" and f"the model at {model} changed since" in run.data.tags["webtext.killed_reason"]
    )
    running = client.search_runs([experiment], "tags.`webtext.kind` = 'evaluate' and attributes.status = 'RUNNING'")
    assert running == []  # (the training runs of this module's fixtures are left open on purpose)


def vars_of(task: object) -> dict[str, object]:
    import dataclasses

    return {field.name: getattr(task, field.name) for field in dataclasses.fields(task)}


def test_bad_input_fails_before_the_model_loads(
    trained: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_folder, _, _ = trained
    monkeypatch.setattr(model_loading, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    with pytest.raises(ValueError, match="tasks is empty"):
        eval_config(run_folder, tasks=())
    with pytest.raises(ValueError, match="unknown nope"):
        eval_config(run_folder, tasks=("nope",))
    with pytest.raises(FileNotFoundError, match="ptb.test.txt"):
        run_evaluation(run_folder / "hf", eval_config(run_folder, tasks=("lambada", "ptb")))
    bad = run_folder.parent / "bad.jsonl"
    bad.write_text('{"text": "fine words here"}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        run_evaluation(
            run_folder / "hf", eval_config(run_folder, tasks=("lambada",), task_paths=(("lambada", str(bad)),))
        )


def test_skip_missing_leaves_out_tasks_without_files(trained: tuple[Path, str, str]) -> None:
    run_folder, _, _ = trained
    files = task_files(eval_config(run_folder, tasks=("lambada", "ptb")), skip_missing=True)
    assert list(files) == ["lambada"]
    with pytest.raises(FileNotFoundError, match="none of the tasks"):
        task_files(eval_config(run_folder, tasks=("ptb",)), skip_missing=True)
