"""``run_training`` through Ray Train on 2 CPU workers (gloo): the MLflow run and the export a run leaves, a worker
killed mid-run, a rerun and a longer rerun, FSDP2; and bad inputs, refused before any Ray work.

The Ray runs share the session's local Ray (``ray_cluster``) and the ``tiny`` size with a 64-token context, so
each takes seconds of training (most of a run's half minute is Ray starting the controller and the workers)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from pipeline.cli import main
from pipeline.shards import file_sha256
from pipeline.stage import StageSummary
from training import run as run_module
from training.checkpoint import STATE_FILE, latest_checkpoint, model_weights, save_checkpoint
from training.config import TrainConfig
from training.data import BlockSampler, TokenDataError, TokenSplit
from training.loop import build_optimizer, learning_rate
from training.model import GPT, GPTConfig
from training.run import run_training

DDP = TrainConfig(
    model="tiny",
    block_size=64,
    batch_size=4,
    max_steps=30,
    log_every=5,
    eval_every=10,
    checkpoint_every=10,
    workers=2,
)
METRICS = ("train_loss", "val_loss", "lr", "tokens_per_s", "grad_norm")


@dataclasses.dataclass(frozen=True)
class Finished:
    """A finished run: where, its summary, and its metrics (step → value) as it left them."""

    out: Path
    cwd: Path
    summary: StageSummary
    metrics: dict[str, dict[int, float]]


@pytest.fixture(autouse=True)
def offline_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def client(summary: StageSummary) -> Any:
    import mlflow

    return mlflow.MlflowClient(summary.details["mlflow_tracking_uri"])


def raw_history(summary: StageSummary, key: str) -> dict[int, list[float]]:
    """Every value logged for ``key``, by step (a step logged again after a restart appears twice)."""
    points: dict[int, list[float]] = defaultdict(list)
    for metric in client(summary).get_metric_history(summary.details["mlflow_run_id"], key):
        points[metric.step].append(metric.value)
    return dict(points)


def metrics_of(summary: StageSummary) -> dict[str, dict[int, float]]:
    return {key: {step: values[-1] for step, values in raw_history(summary, key).items()} for key in METRICS}


def final_state(out: Path) -> dict[str, Any]:
    found = latest_checkpoint(out / run_module.CHECKPOINTS_DIR)
    assert found is not None
    return torch.load(found[0] / STATE_FILE, map_location="cpu", weights_only=False)


def optimizer_steps(state: dict[str, Any]) -> set[int]:
    return {int(parameter["step"]) for parameter in state["optimizer"]["state"].values()}


def assert_export_matches(out: Path, summary: StageSummary) -> None:
    """``hf/`` loads offline in transformers and computes the final checkpoint's logits."""
    from transformers import AutoTokenizer, GPT2LMHeadModel

    hf, info = GPT2LMHeadModel.from_pretrained(out / "hf", local_files_only=True, output_loading_info=True)
    assert not any(info.values()), info
    checkpoint = Path(summary.details["checkpoint"])
    ours = GPT(GPTConfig(**json.loads((checkpoint / "meta.json").read_text())["model_config"]))
    ours.load_state_dict(model_weights(checkpoint))
    ids = torch.randint(
        0, ours.config.vocab_size, (2, ours.config.block_size), generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        expected, _ = ours.eval()(ids)
        actual = hf.eval()(ids).logits
    assert (actual - expected).abs().max().item() < 1e-4
    tokenizer = AutoTokenizer.from_pretrained(out / "hf", local_files_only=True)
    assert tokenizer.decode(tokenizer("Ray trains the model.")["input_ids"]) == "Ray trains the model."


@pytest.fixture(scope="module")
def ddp_run(ray_cluster: dict, sample_tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> Finished:
    """``DDP`` trained once, from a scratch working directory (where MLflow must leave nothing)."""
    out, cwd = tmp_path_factory.mktemp("ddp") / "run", tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.chdir(cwd)
        summary = run_training(sample_tokens, out, DDP)
    return Finished(out, cwd, summary, metrics_of(summary))


# (a) one run, everything it leaves


@pytest.mark.e2e
def test_a_two_worker_run_logs_params_tags_and_metrics_by_step(ddp_run: Finished, sample_tokens: Path) -> None:
    summary = ddp_run.summary
    run = client(summary).get_run(summary.details["mlflow_run_id"])
    params, tags = run.data.params, run.data.tags
    manifest = json.loads((sample_tokens / "manifest.json").read_text())
    n_params = GPT(DDP.model_config(manifest["tokenizer"]["vocab_size"])).num_parameters()
    for key, value in DDP.as_params().items():  # every setting
        assert params[key] == str(value), key
    corpus = hashlib.sha256(json.dumps(manifest["inputs"], sort_keys=True).encode()).hexdigest()
    assert params["model"] == "tiny" and params["n_params"] == str(n_params) and params["tokenizer"] == "bpe"
    assert params["tokens_manifest_sha256"] == file_sha256(sample_tokens / "manifest.json")
    assert params["corpus_sha256"] == corpus and params["model.block_size"] == "64"
    assert tags["model_size"] == "tiny" and tags["n_params"] == str(n_params) and tags["corpus_version"] == corpus[:12]
    assert run.info.status == "FINISHED" and run.info.run_name == "train-tiny"

    metrics = ddp_run.metrics
    logged = [1, 5, 10, 15, 20, 25, 30]  # the first step, every log_every, the last
    for key in ("train_loss", "lr", "tokens_per_s", "grad_norm"):
        assert sorted(metrics[key]) == logged, key
    assert sorted(metrics["val_loss"]) == [10, 20, 30]
    assert all(metrics["lr"][step] == pytest.approx(learning_rate(step - 1, DDP)) for step in logged)
    assert all(value > 0 for key in ("tokens_per_s", "grad_norm") for value in metrics[key].values())
    losses = metrics["train_loss"]
    assert losses[1] == pytest.approx(torch.log(torch.tensor(512.0)).item(), abs=0.15)
    assert losses[30] < losses[1] - 0.5 and metrics["val_loss"][30] < metrics["val_loss"][10]
    assert summary.details["train_loss"] == losses[30] and summary.details["first_train_loss"] == losses[1]


@pytest.mark.e2e
def test_the_run_logs_its_curve_config_and_an_export_that_loads_offline(ddp_run: Finished) -> None:
    summary, out = ddp_run.summary, ddp_run.out
    mlflow = client(summary)
    run_id = summary.details["mlflow_run_id"]
    top = {artifact.path for artifact in mlflow.list_artifacts(run_id)}
    assert {"loss_curve.png", "config", "hf"} <= top
    assert {artifact.path for artifact in mlflow.list_artifacts(run_id, "config")} == {"config/train_config.json"}
    exported = {artifact.path for artifact in mlflow.list_artifacts(run_id, "hf")}
    assert {"hf/model.safetensors", "hf/config.json", "hf/tokenizer.json", "hf/webtext.json"} <= exported
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    webtext = json.loads((out / "hf" / "webtext.json").read_text())
    assert webtext["mlflow_run_id"] == run_id and webtext["model_size"] == "tiny"
    assert_export_matches(out, summary)


@pytest.mark.e2e
def test_the_summary_and_the_tracking_store_live_in_the_out_dir(ddp_run: Finished) -> None:
    summary, out = ddp_run.summary, ddp_run.out
    written = json.loads((out / "summary.json").read_text())
    assert written["counts"] == summary.counts and summary.counts["steps"] == 30  # nested, as StageSummary has them
    assert (written["units"], written["units_done"], written["units_skipped"]) == (1, 1, 0)
    assert written["details"]["mlflow_run_id"] == summary.details["mlflow_run_id"]
    assert summary.details["mlflow_tracking_uri"] == f"sqlite:///{(out / 'mlflow.db').resolve()}"
    assert (out / "mlflow.db").is_file() and (out / "mlartifacts").is_dir()
    assert not (ddp_run.cwd / "mlruns").exists() and not list(ddp_run.cwd.iterdir())
    assert not (Path(__file__).resolve().parents[2] / "mlruns").exists()
    state = final_state(out)
    assert state["step"] == 30 and optimizer_steps(state) == {30}
    checkpoints = sorted(path.name for path in (out / "checkpoints" / "train").glob("step-*"))
    assert checkpoints == ["step-00000010", "step-00000020", "step-00000030"]


# (b) a worker killed mid-run


def ray_train_workers() -> set[int]:
    """Pids of Ray Train worker processes descending from this process (the local Ray it started): another
    session's Ray on the same machine is not ours to kill."""
    parents, titles = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            titles[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    return {pid for pid, title in titles.items() if title.startswith("ray::RayTrainWorker") and ours(pid)}


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds Ray's worker processes through /proc")
def test_a_killed_worker_resumes_from_the_last_checkpoint(
    ray_cluster: dict, sample_tokens: Path, tmp_path: Path
) -> None:
    cfg = TrainConfig(
        model="tiny",
        batch_size=8,
        max_steps=40,
        log_every=1,
        eval_every=20,
        checkpoint_every=5,
        max_failures=2,
        workers=2,
    )
    out = tmp_path / "run"
    outcome: dict[str, Any] = {}

    def train() -> None:
        try:
            outcome["summary"] = run_training(sample_tokens, out, cfg)
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = error

    earlier = ray_train_workers()
    thread = threading.Thread(target=train, daemon=True)
    thread.start()
    seen: set[int] = set()
    killed, deadline = None, time.monotonic() + 300
    while thread.is_alive() and time.monotonic() < deadline:
        alive = ray_train_workers() - earlier
        seen |= alive
        found = latest_checkpoint(out / "checkpoints")
        if killed is None and found is not None and found[1]["step"] >= 10 and alive:
            assert found[1]["step"] < cfg.max_steps, "the run finished before a worker could be killed"
            killed = (min(alive), found[1]["step"])  # likely rank 0: it logs and writes checkpoints
            os.kill(killed[0], signal.SIGKILL)
        time.sleep(0.05)
    thread.join(timeout=5)
    assert not thread.is_alive(), "run_training did not finish in 5 minutes"
    assert "error" not in outcome, outcome.get("error")
    assert killed is not None
    assert len(seen) >= 3, seen  # the group was restarted with new worker processes
    summary: StageSummary = outcome["summary"]
    assert summary.counts["steps"] == cfg.max_steps

    losses = raw_history(summary, "train_loss")
    assert sorted(losses) == list(range(1, 41))  # every step logged: the curve continues where it resumed
    repeated = {step: values for step, values in losses.items() if len(values) > 1}
    assert all(len(set(values)) == 1 for values in repeated.values()), repeated  # a redone step is the same step
    assert all(step <= killed[1] + 2 * cfg.checkpoint_every for step in repeated), (killed, repeated)
    lrs = raw_history(summary, "lr")
    assert all(values == [learning_rate(step - 1, cfg)] * len(values) for step, values in lrs.items())

    state = final_state(out)
    assert state["step"] == 40 and optimizer_steps(state) == {40}  # no optimizer step taken twice or lost
    sampler = BlockSampler(TokenSplit.open(sample_tokens, "train"), 256, 0, 2, cfg.seed)
    for _ in range(40):
        sampler.next_numbers(cfg.batch_size)
    assert state["sampler"] == sampler.state_dict()  # nor any batch drawn twice or skipped


# (d) FSDP2


@pytest.mark.e2e
def test_fsdp_on_cpu_trains_like_ddp_and_exports(ddp_run: Finished, sample_tokens: Path, tmp_path: Path) -> None:
    out = tmp_path / "fsdp"
    summary = run_training(sample_tokens, out, dataclasses.replace(DDP, parallelism="fsdp"))
    assert summary.counts["steps"] == 30
    losses = metrics_of(summary)["train_loss"]
    assert losses[30] < losses[1] - 0.5
    # the same data, initialisation and arithmetic, sharded: the same curve as DDP's
    assert losses == pytest.approx(ddp_run.metrics["train_loss"], abs=1e-3)
    assert optimizer_steps(final_state(out)) == {30}
    assert_export_matches(out, summary)


# (c) reruns; last in this module: it extends ddp_run's folder


@pytest.mark.e2e
def test_a_rerun_trains_nothing_and_more_steps_continue_the_same_run(ddp_run: Finished, sample_tokens: Path) -> None:
    out, first = ddp_run.out, ddp_run.summary
    run_id = first.details["mlflow_run_id"]
    exported = (out / "hf" / "model.safetensors").stat().st_mtime_ns
    again = run_training(sample_tokens, out, DDP)
    assert (again.units_skipped, again.counts["steps"], again.details["mlflow_run_id"]) == (1, 30, run_id)
    assert (out / "hf" / "model.safetensors").stat().st_mtime_ns == exported  # the export is not written again
    assert metrics_of(again) == ddp_run.metrics  # nothing logged

    longer = run_training(sample_tokens, out, dataclasses.replace(DDP, max_steps=40))
    assert (longer.units_skipped, longer.counts["steps"], longer.details["mlflow_run_id"]) == (0, 40, run_id)
    runs = client(longer).search_runs([client(longer).get_run(run_id).info.experiment_id])
    assert [run.info.run_id for run in runs] == [run_id]
    losses = raw_history(longer, "train_loss")
    assert sorted(losses) == [1, 5, 10, 15, 20, 25, 30, 31, 35, 40]  # resumed after step 30: 31 is its first
    assert all(len(values) == 1 for values in losses.values())
    assert {step: values[0] for step, values in losses.items() if step <= 30} == ddp_run.metrics["train_loss"]
    assert optimizer_steps(final_state(out)) == {40}


# (e) bad inputs: refused before Ray


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def fit(*args: Any) -> None:
        raise AssertionError("Ray Train was started")

    monkeypatch.setattr(run_module, "_fit", fit)
    yield


def test_too_few_tokens_for_one_batch(small_tokens: Path, tmp_path: Path, no_ray: None) -> None:
    with pytest.raises(TokenDataError, match="fewer than one batch"):
        run_training(small_tokens, tmp_path / "out", dataclasses.replace(DDP, batch_size=8))
    assert not (tmp_path / "out").exists()


def test_a_truncated_token_shard_is_named(sample_tokens: Path, tmp_path: Path, no_ray: None) -> None:
    tokens = shutil.copytree(sample_tokens, tmp_path / "tokens")
    shard = json.loads((tokens / "manifest.json").read_text())["splits"]["train"]["shards"][-1]["path"]
    with (tokens / shard).open("r+b") as stream:
        stream.truncate((tokens / shard).stat().st_size - 2)
    with pytest.raises(TokenDataError, match=re.escape(str(tokens / shard)) + ".*truncated"):
        run_training(tokens, tmp_path / "out", DDP)


def _checkpoint(out: Path, sample_tokens: Path, cfg: TrainConfig, tokens_sha256: str) -> None:
    model = GPT(cfg.model_config(512))
    meta = {
        "model_config": dataclasses.asdict(model.config),
        "tokens_sha256": tokens_sha256,
        "mlflow_run_id": "0" * 32,
    }
    sampler = {"format": "webtext-sampler/1"}
    directory = out / "checkpoints" / "train" / "step-00000005"
    save_checkpoint(directory, model, build_optimizer(model, cfg, torch.device("cpu")), 5, sampler, meta)


def test_a_checkpoint_of_another_shape_is_refused_naming_the_difference(
    sample_tokens: Path, tmp_path: Path, no_ray: None
) -> None:
    out = tmp_path / "out"
    _checkpoint(out, sample_tokens, dataclasses.replace(DDP, n_layer=1), file_sha256(sample_tokens / "manifest.json"))
    with pytest.raises(ValueError, match="another model") as error:
        run_training(sample_tokens, out, DDP)
    assert "n_layer: 1 there, 2 now" in str(error.value) and "block_size" not in str(error.value)
    assert not (out / "mlflow.db").exists()
    _checkpoint(out, sample_tokens, DDP, "f" * 64)  # the right shape, from another tokens folder
    with pytest.raises(ValueError, match="another tokens folder"):
        run_training(sample_tokens, out, DDP)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_unreachable_ray_address_fails_fast(sample_tokens: Path, tmp_path: Path, scheme: str) -> None:
    address = f"{scheme}127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=re.escape(repr(address))):
        run_training(sample_tokens, tmp_path / "out", dataclasses.replace(DDP, ray_address=address))
    assert time.monotonic() - started < 15
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="ray_address"):
        run_training(sample_tokens, tmp_path / "out", dataclasses.replace(DDP, ray_address="no-port-here"))


def test_the_cli_reports_a_too_small_corpus_in_one_line(
    small_tokens: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_ray: None
) -> None:
    status = main(["train", str(small_tokens), "--out", str(tmp_path / "out"), "--model", "tiny", "--workers", "2"])
    assert status == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("webtext train: error: ") and str(small_tokens) in lines[0]
