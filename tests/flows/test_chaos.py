"""Kill it anywhere, keep it clean (issue 26): ``make demo`` SIGKILLed at seeded moments and resumed each time ends
exactly where an uninterrupted run of the same command and config ends.

``python -m flows.demo --config run.yaml`` (what ``make demo`` runs: its own Prefect server under
flows/parent_watch.py, Spark for dedup, a local Ray for training) starts in a session of its own, and its whole
process group is SIGKILLed three times, as a power cut or the OOM killer would: once in a data stage (extract …
tokenize), once in ``train_model`` between two checkpoints, once in ``evaluate_model`` while its MLflow run is
open. ``random.Random(SEED)`` picks the data stage, the checkpoint and the delays (``WEBTEXT_CHAOS_SEED`` tries
another seed). A kill is timed off the run's output (the log line of the stage before, or of the stage itself),
then off the state the stage leaves (a checkpoint folder, an MLflow run), then a small seeded delay; afterwards
the output shows where it landed: mid-run, before the data half ended (a data stage's window can be shorter than a
second) or inside the task it was aimed at. Within 10 s of each kill no process of
the run may be left: every launch carries a mark in its environment (``infra.cluster.supervisor``'s, found by
``marked_processes``), which Prefect's server, Spark's JVM and Ray's processes inherit. The same command then runs
again, until a run finishes.

A reference run of the same command and config, never interrupted, runs alongside in a folder of its own. At the
end both hold the same token shards and tokenizer, the same corpus documents, the same MLflow runs (all
FINISHED), training metrics whose steps logged twice (before and after a resume) carry one value, the reference's,
each size's evaluation metric logged once, and the same funnel in the run report; no process of either is left.
Each launch's output is kept in its folder (``launch-N.log``, ``reference.log``); a failure prints their tails.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import mlflow
import psutil
import pyarrow.parquet as pq
import pytest
from mlflow.entities import ViewType
from sample_run import write_config

from evaluation.mlflow_runs import STAGE as EVALUATE_KIND
from infra.cluster.supervisor import MARK, marked_processes
from pipeline.shards import file_sha256
from pipeline.tokenize.tokens_folder import corpus_sha256
from pipeline.tracking import KIND_TAG

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the run's processes through /proc"),
]
REPO_ROOT = Path(__file__).resolve().parents[2]

SEED = int(os.environ.get("WEBTEXT_CHAOS_SEED", "26"))
GONE_WITHIN_S = 10.0  # after a kill, every process of the run is gone within this
LAUNCH_TIMEOUT_S = 360.0  # the longest one launch may take to reach a moment, or to finish
SIZE, VERSION, TASK = "tiny", "v0001", "sample_lambada"
MAX_STEPS, CHECKPOINT_EVERY = 24, 4
# Every step logged (so a step trained again after a resume is logged again), a validation loss at each checkpoint
TRAIN = {"max_steps": MAX_STEPS, "checkpoint_every": CHECKPOINT_EVERY, "log_every": 1, "eval_every": 4}
EVAL_COPIES = 30  # the sample's LAMBADA-format set 30 times over: seconds of scoring, a window to kill it in
DETERMINISTIC = ("train_loss", "val_loss", "lr", "grad_norm")  # tokens_per_s (and mfu) measure the machine
VOLATILE_TOKEN_FILES = {"summary.json"}  # the stage's timing, absolute paths, units done in this run
MANIFEST, UNITS_DIR = "manifest.json", "_units/"
FETCH_COLUMNS = ("fetched_at", "warc_offset")  # when a page was fetched, where in its WARC: differ run to run
PER_RUN_FETCHED = re.compile(r"\b[\d,]+( URLs fetched in this run)")  # the funnel's note on the fetch row

# Where each data stage is hit: the log line that opens its window (the stage before it ended, or it began), and
# the range of the seeded delay after it (about the stage's length on 2 cores: the short ones get short delays).
DATA_WINDOWS: dict[str, tuple[str, tuple[float, float]]] = {
    "extract": (r"Task run 'fetch_pages-[^']*' - Finished in state", (0.5, 4.0)),
    "dedup": (r"Flow run '[^']*' - extract: ", (1.0, 15.0)),
    "filter": (r"Task run 'train_quality_classifier-[^']*' - quality classifier", (0.0, 0.3)),
    "decontaminate": (r"Task run 'decontaminate_documents-[^']*' - decontaminate against", (0.0, 0.3)),
    "tokenize": (r"Task run 'decontaminate_documents-[^']*' - Finished in state", (0.0, 0.2)),
}
MODEL_HALF = r"Flow run '[^']*' - train \S+ on v\d+"  # the flow decides on training: the data half is over
TRAINING_DUE = rf"Flow run '[^']*' - train {SIZE} on {VERSION}: yes"
TRAINED = r"Task run 'train_model-[^']*' - Finished in state"
EVALUATED = r"Task run 'evaluate_model-[^']*' - Finished in state"
FLOW_FINISHED = r"Flow run '[^']*' - Finished in state"


@dataclasses.dataclass(frozen=True)
class ChaosPlan:
    """Where the three kills land, drawn from the seed."""

    data_stage: str
    data_delay_s: float
    checkpoint: int  # the kill in training comes after this checkpoint, 3 or more before the end, and a step after it
    train_delay_s: float
    eval_delay_s: float  # after the evaluation's MLflow run is open


def chaos_plan(seed: int) -> ChaosPlan:
    rng = random.Random(seed)
    stage = rng.choice(list(DATA_WINDOWS))
    low, high = DATA_WINDOWS[stage][1]
    data_delay = round(rng.uniform(low, high), 3)
    checkpoint = rng.choice(range(CHECKPOINT_EVERY, MAX_STEPS - 2 * CHECKPOINT_EVERY, CHECKPOINT_EVERY))
    return ChaosPlan(stage, data_delay, checkpoint, round(rng.uniform(0.0, 0.3), 3), round(rng.uniform(0.0, 1.0), 3))


class Demo:
    """One launch of ``python -m flows.demo`` in a session of its own; its output (stdout and stderr) read line by
    line as it comes, and kept in ``directory/NAME.log``."""

    def __init__(self, name: str, config: Path, directory: Path, env: Mapping[str, str]) -> None:
        self.name, self.started = name, time.monotonic()
        self.lines: list[str] = []  # appended by the reader thread only
        self.log_path = directory / f"{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.demo", "--config", str(config)],
            cwd=directory,  # the demo's server log goes to build/prefect-server.log there
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, name=f"{name}-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.log_path.open("w", encoding="utf-8") as log:
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                log.write(f"{time.monotonic() - self.started:8.2f} {line}")
                log.flush()

    def seconds(self) -> float:
        return time.monotonic() - self.started

    def printed(self, pattern: str) -> bool:
        regex = re.compile(pattern)
        return any(regex.search(line) for line in list(self.lines))

    def wait_for(self, what: str, ready: Callable[[], bool], timeout_s: float = LAUNCH_TIMEOUT_S) -> None:
        """Return once ``ready()``; fail with the output's tail if the launch ends first or it takes too long."""
        deadline = time.monotonic() + timeout_s
        while not ready():
            assert self.process.poll() is None, (
                f"{self.name} ended (status {self.process.returncode}) before {what}\n{self.tail()}"
            )
            assert time.monotonic() < deadline, f"{self.name}: no {what} after {timeout_s:.0f} s\n{self.tail()}"
            time.sleep(0.05)

    def wait_line(self, pattern: str) -> None:
        self.wait_for(f"line /{pattern}/", lambda: self.printed(pattern))

    def kill(self) -> float:
        """SIGKILL the whole process group (no ``finally`` of the run runs); returns when, in seconds since the
        start. The output printed before the kill is all read when this returns."""
        at = self.seconds()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._reader.join(timeout=GONE_WITHIN_S)
        return at

    def finish(self, timeout_s: float = LAUNCH_TIMEOUT_S) -> int:
        try:
            status = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not finish in {timeout_s:.0f} s\n{self.tail()}") from None
        self._reader.join(timeout=GONE_WITHIN_S)
        return status

    def tail(self, lines: int = 60) -> str:
        return f"--- {self.name} ({self.log_path}), last {lines} lines:\n" + "\n".join(self.lines[-lines:])


def processes_left(mark: Path, within_s: float = GONE_WITHIN_S) -> list[str]:
    """The processes still carrying ``mark`` once ``within_s`` seconds have passed (as soon as none does: [])."""
    deadline = time.monotonic() + within_s
    while True:
        left = [described for process in marked_processes(mark) if (described := describe(process))]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.2)


def describe(process: psutil.Process) -> str | None:
    with contextlib.suppress(psutil.Error):
        return f"{process.pid} {process.name()} (parent {process.ppid()}): {' '.join(process.cmdline())[:200]}"
    return None


def mlflow_rows(db: Path, sql: str, *parameters: Any) -> list[tuple]:
    """``sql`` on a run's MLflow store, read only while the run writes to it; [] before it exists or while busy."""
    if not db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)) as connection:
            return connection.execute(sql, parameters).fetchall()
    except sqlite3.Error:
        return []


def logged_past_checkpoints(db: Path, checkpoints: Path, first: int) -> bool:
    """Training has written checkpoint ``first`` (or a later one) and logged a step after its newest checkpoint
    folder: a resume starts from a checkpoint no newer, so it trains and logs that step again."""
    steps = [int(path.name.removeprefix("step-")) for path in checkpoints.glob("step-*")]
    ((last,),) = mlflow_rows(db, "SELECT MAX(step) FROM metrics WHERE key = 'train_loss'") or [(None,)]
    return bool(steps) and max(steps) >= first and last is not None and last > max(steps)


def evaluation_open(db: Path) -> bool:
    """An evaluation's MLflow run is RUNNING: the task scores its examples."""
    sql = (
        "SELECT COUNT(*) FROM runs JOIN tags ON tags.run_uuid = runs.run_uuid"
        " WHERE tags.key = ? AND tags.value = ? AND runs.status = 'RUNNING'"
    )
    ((count,),) = mlflow_rows(db, sql, KIND_TAG, EVALUATE_KIND) or [(0,)]
    return count > 0


@dataclasses.dataclass
class ChaosRun:
    """The interrupted run: its folder (``run/`` its data root), config, environment and launches."""

    directory: Path
    config: Path
    env: dict[str, str]
    launches: list[Demo] = dataclasses.field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.directory / "run"

    @property
    def mlflow_db(self) -> Path:
        return self.root / "mlflow.db"

    def launch(self) -> Demo:
        demo = Demo(f"launch-{len(self.launches) + 1}", self.config, self.directory, self.env)
        self.launches.append(demo)
        return demo

    def kill(
        self, demo: Demo, aimed_at: str, delay_s: float, over_when: str, still: Callable[[], bool] | None = None
    ) -> None:
        """After ``delay_s`` (and once ``still()`` holds again, if given), SIGKILL ``demo``'s process group; check
        it landed mid-run, before ``over_when`` was printed (the end of the stage aimed at), and that no process of
        the run outlives it by 10 s."""
        time.sleep(delay_s)
        if still is not None:
            demo.wait_for(f"{aimed_at} (again, after the delay)", still)
        at = demo.kill()
        print(f"{demo.name}: SIGKILL at {at:.1f} s, aimed at {aimed_at}; last line: {demo.lines[-1:]}")
        assert demo.process.returncode == -signal.SIGKILL, (
            f"{demo.name} had ended (status {demo.process.returncode}) before the kill aimed at {aimed_at}\n"
            f"{demo.tail()}"
        )
        assert not demo.printed(FLOW_FINISHED), f"the flow run had finished before the kill\n{demo.tail()}"
        assert not demo.printed(over_when), (
            f"the kill aimed at {aimed_at} landed after it (/{over_when}/ was printed)\n{demo.tail()}"
        )
        left = processes_left(self.directory)
        assert not left, f"{GONE_WITHIN_S:.0f} s after the kill in {aimed_at}, processes of the run are left: {left}"


def environment(directory: Path) -> dict[str, str]:
    """The test's environment (the session's Ray token file among it) for a demo run into ``directory``: its own
    Prefect home, no Prefect server to report to (the demo starts its own), and the mark of its processes."""
    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    env |= {
        "PREFECT_HOME": str(directory / "prefect-home"),
        "PREFECT_UI_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",  # the stages' lines arrive as they are logged: the kills are timed off them
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        MARK: str(directory.resolve()),
    }
    return env


def prepare(directory: Path, eval_file: Path) -> tuple[Path, dict[str, str]]:
    """A folder with the run's config (the e2e tests' sample run, longer training, a longer evaluation)."""
    directory.mkdir()
    evaluate = {"task_paths": [f"{TASK}={eval_file}"], "limit": sum(1 for _ in eval_file.open(encoding="utf-8"))}
    # dedup on Spark, not the local engine the sample's size gets: its JVM is a process tree a kill must not leave
    dedup = {"engine": "spark"}
    return write_config(directory, {"train": TRAIN, "evaluate": evaluate, "dedup": dedup}), environment(directory)


def stop_everything(launches: list[Demo], marks: list[Path]) -> None:
    """Whatever a failed test left running of its runs: their groups, then anything still marked."""
    for demo in launches:
        if demo.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(demo.process.pid, signal.SIGKILL)
            demo.process.wait()
    for mark in marks:
        for process in marked_processes(mark):
            with contextlib.suppress(psutil.Error):
                process.kill()


def test_a_demo_killed_anywhere_resumes_to_the_uninterrupted_result(
    tmp_path: Path, sample: tuple[Path, dict[str, Any]]
) -> None:
    plan = chaos_plan(SEED)
    print(f"chaos plan (seed {SEED}): {plan}")
    lines = (sample[0] / "eval" / f"{TASK}.jsonl").read_text(encoding="utf-8")
    eval_file = tmp_path / f"{TASK}-x{EVAL_COPIES}.jsonl"
    eval_file.write_text(lines * EVAL_COPIES, encoding="utf-8")
    reference_config, reference_env = prepare(tmp_path / "reference", eval_file)
    chaos_config, chaos_env = prepare(tmp_path / "chaos", eval_file)
    chaos = ChaosRun(tmp_path / "chaos", chaos_config, chaos_env)
    reference = Demo("reference", reference_config, tmp_path / "reference", reference_env)
    started = time.monotonic()
    try:
        demo = chaos.launch()  # killed in a data stage
        gate, _ = DATA_WINDOWS[plan.data_stage]
        demo.wait_line(gate)
        chaos.kill(demo, plan.data_stage, plan.data_delay_s, over_when=MODEL_HALF)

        demo = chaos.launch()  # killed in train_model, after a checkpoint and a step logged after the newest one
        demo.wait_line(TRAINING_DUE)
        checkpoints = chaos.root / "models" / SIZE / VERSION / "checkpoints" / "train"

        def past_checkpoints() -> bool:
            assert not demo.printed(TRAINED), f"training ended before the kill aimed at it\n{demo.tail()}"
            return logged_past_checkpoints(chaos.mlflow_db, checkpoints, plan.checkpoint)

        aimed_at = f"train_model after step {plan.checkpoint}"
        demo.wait_for(f"a step logged after checkpoint {plan.checkpoint} and the newest", past_checkpoints)
        chaos.kill(demo, aimed_at, plan.train_delay_s, over_when=TRAINED, still=past_checkpoints)

        demo = chaos.launch()  # killed in evaluate_model, its MLflow run open
        demo.wait_line(TRAINED)
        demo.wait_for("an open evaluation run in MLflow", lambda: evaluation_open(chaos.mlflow_db))
        chaos.kill(demo, "evaluate_model", plan.eval_delay_s, over_when=EVALUATED)

        demo = chaos.launch()  # runs to the end
        assert demo.finish() == 0, f"the last resume failed\n{demo.tail()}"
        assert reference.finish() == 0, f"the reference run failed\n{reference.tail()}"
        print(f"chaos and reference done in {time.monotonic() - started:.0f} s")
        for directory in (chaos.directory, reference_config.parent):
            left = processes_left(directory)
            assert not left, f"processes of the finished run in {directory} are left: {left}"

        assert_same_tokens(chaos.root, reference_config.parent / "run")
        assert_same_corpus(chaos.root, reference_config.parent / "run")
        assert_same_mlflow(chaos.root, reference_config.parent / "run")
        assert_same_funnel(chaos.root, reference_config.parent / "run")
    except BaseException:
        for launched in [*chaos.launches, reference]:
            print(launched.tail())
        raise
    finally:
        stop_everything([*chaos.launches, reference], [chaos.directory, reference_config.parent])


def files_of(folder: Path, leave_out: set[str] = frozenset()) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in leave_out
    }


def corpus_placeholders(root: Path) -> dict[str, str]:
    """This run's corpus hashes (each shard's sha256, the corpus's) and what they read as when compared: the shards
    hold each page's fetch time and WARC offset, which differ between any two runs, killed or not."""
    inputs = {path.name: file_sha256(path) for path in sorted((root / "corpus").glob("*.parquet"))}
    placeholders = {sha256: f"<sha256 of corpus/{name}>" for name, sha256 in inputs.items()}
    return placeholders | {corpus_sha256(inputs): "<corpus sha256>"}


def token_files(root: Path) -> dict[str, bytes]:
    """The tokens folder's files but its summary, its JSON with this run's own corpus hashes as placeholders (a
    manifest that names another corpus keeps its hash, and differs) and each unit's fingerprint (of its input's
    sha256) left out."""
    files = files_of(root / "tokens", VOLATILE_TOKEN_FILES)
    placeholders = corpus_placeholders(root)
    for name in [name for name in files if name.endswith(".json")]:
        text = files[name].decode("utf-8")
        for sha256, placeholder in placeholders.items():
            text = text.replace(sha256, placeholder)
        if name.startswith(UNITS_DIR):
            text = json.dumps({**json.loads(text), "fingerprint": "<of the input's sha256>"}, sort_keys=True)
        files[name] = text.encode("utf-8")
    assert b'"corpus_sha256": "<corpus sha256>"' in files.get(MANIFEST, b""), (
        f"{root / 'tokens' / MANIFEST} does not name the corpus in {root / 'corpus'}"
    )
    return files


def assert_same_tokens(root: Path, reference: Path) -> None:
    """Every file of the tokens folder (shards, indexes, tokenizer, manifest, units) but its summary."""
    ours, theirs = token_files(root), token_files(reference)
    assert sorted(ours) == sorted(theirs), f"the tokens folder holds {sorted(ours)}, the reference's {sorted(theirs)}"
    differ = {name: (ours[name][:3000], theirs[name][:3000]) for name in ours if ours[name] != theirs[name]}
    assert not differ, f"token files differ from the reference's (ours, theirs): {differ}"
    assert any(name.endswith(".bin") for name in ours) and any(name.startswith("tokenizer/") for name in ours)


def assert_same_corpus(root: Path, reference: Path) -> None:
    """The corpus shards: the same names, the same documents (id, text and every other column but the fetch's
    time and WARC offset) in the same order."""
    ours = sorted(path.name for path in (root / "corpus").glob("*.parquet"))
    theirs = sorted(path.name for path in (reference / "corpus").glob("*.parquet"))
    assert ours == theirs and ours, f"corpus shards {ours} against the reference's {theirs}"
    for name in ours:
        ours_table, theirs_table = pq.read_table(root / "corpus" / name), pq.read_table(reference / "corpus" / name)
        assert ours_table.schema.names == theirs_table.schema.names and {"id", "text"} <= set(ours_table.schema.names)
        for column in [column for column in ours_table.schema.names if column not in FETCH_COLUMNS]:
            assert ours_table[column].equals(theirs_table[column]), (
                f"corpus/{name}: column {column} differs from the reference's: {ours_table[column].to_pylist()} "
                f"against {theirs_table[column].to_pylist()}"
            )


def mlflow_runs(root: Path) -> tuple[mlflow.MlflowClient, list[Any]]:
    """Every MLflow run of the data root's store (deleted ones too), oldest first."""
    client = mlflow.MlflowClient(f"sqlite:///{(root / 'mlflow.db').resolve()}")
    experiments = [experiment.experiment_id for experiment in client.search_experiments(view_type=ViewType.ALL)]
    runs = client.search_runs(experiments, run_view_type=ViewType.ALL, order_by=["attributes.start_time ASC"])
    return client, runs


def metric_steps(client: mlflow.MlflowClient, run_id: str, key: str) -> dict[int, list[float]]:
    """Each step of ``key`` in the run: every value logged for it (two after a step was trained twice)."""
    steps: dict[int, list[float]] = {}
    for metric in client.get_metric_history(run_id, key):
        steps.setdefault(metric.step, []).append(metric.value)
    return steps


def differing_steps(
    steps: dict[int, list[float]], reference_steps: dict[int, list[float]]
) -> dict[int, tuple[list[float], list[float]]]:
    """The steps logged with a value the reference did not log there: two values for a step logged twice, or one
    value unlike the reference's."""
    return {
        step: (values, reference_steps.get(step, []))
        for step, values in steps.items()
        if set(values) != set(reference_steps.get(step, []))
    }


def assert_same_mlflow(root: Path, reference: Path) -> None:
    """The same runs (names, states), all FINISHED; the training metrics a resume logged again equal to the first
    values and to the reference's; each size's evaluation metric logged once, the reference's."""
    client, runs = mlflow_runs(root)
    reference_client, reference_runs = mlflow_runs(reference)
    listing = sorted((run.info.run_name, run.info.status, run.info.lifecycle_stage) for run in runs)
    reference_listing = sorted((run.info.run_name, run.info.status, run.info.lifecycle_stage) for run in reference_runs)
    assert listing == reference_listing, f"MLflow runs {listing} against the reference's {reference_listing}"
    assert {run.info.status for run in runs} == {"FINISHED"}, listing

    (training,) = [run for run in runs if run.info.run_name == f"train-{SIZE}"]
    (reference_training,) = [run for run in reference_runs if run.info.run_name == f"train-{SIZE}"]
    assert set(training.data.metrics) == set(reference_training.data.metrics) >= {"train_loss", "lr", "grad_norm"}
    repeated = []
    for key in sorted(training.data.metrics):
        steps = metric_steps(client, training.info.run_id, key)
        reference_steps = metric_steps(reference_client, reference_training.info.run_id, key)
        assert sorted(steps) == sorted(reference_steps), (
            f"{key}: steps {sorted(steps)} against {sorted(reference_steps)}"
        )
        if key not in DETERMINISTIC:
            continue
        repeated += [(key, step) for step, values in steps.items() if len(values) > 1]
        differ = differing_steps(steps, reference_steps)
        assert not differ, f"{key}: per step, the values logged against the reference's: {differ}"
    assert repeated, "no training step was logged twice: the kill in train_model did not make the resume train again"

    evaluations = [run for run in runs if run.data.tags.get(KIND_TAG) == EVALUATE_KIND]
    reference_evaluations = [run for run in reference_runs if run.data.tags.get(KIND_TAG) == EVALUATE_KIND]
    assert sorted(run.data.tags.get("model_size") for run in evaluations) == [SIZE], evaluations
    for evaluation in evaluations:
        size = evaluation.data.tags["model_size"]
        (reference_evaluation,) = [run for run in reference_evaluations if run.data.tags.get("model_size") == size]
        accuracy = client.get_metric_history(evaluation.info.run_id, f"{TASK}_acc")
        assert len(accuracy) == 1, f"{size}: {TASK}_acc logged {len(accuracy)} times: {accuracy}"
        assert evaluation.data.metrics == reference_evaluation.data.metrics, (
            f"{size}: evaluation {evaluation.data.metrics} against the reference's {reference_evaluation.data.metrics}"
        )


def per_run(text: str) -> str:
    """``text`` with the funnel's one count of this run alone (URLs fetched by this very run: 0 in a resume that
    found the fetch done) as a placeholder; every count of the data stays."""
    return PER_RUN_FETCHED.sub(r"<n>\1", text)


def funnel(root: Path) -> str:
    """The funnel section of the run report (its table: no timings)."""
    report = (root / "report" / "report.md").read_text(encoding="utf-8")
    assert "\n## Funnel\n" in report, f"no funnel in {root / 'report' / 'report.md'}"
    return per_run(report.split("\n## Funnel\n", 1)[1].split("\n## ", 1)[0])


def assert_same_funnel(root: Path, reference: Path) -> None:
    ours, theirs = funnel(root), funnel(reference)
    differ = [(a, b) for a, b in zip(ours.splitlines(), theirs.splitlines(), strict=False) if a != b]
    assert ours == theirs, f"the report's funnel differs from the reference's (ours, theirs): {differ}"
    ours_csv, theirs_csv = (per_run((folder / "report" / "funnel.csv").read_text()) for folder in (root, reference))
    assert ours_csv == theirs_csv, f"funnel.csv differs from the reference's:\n{ours_csv}\nagainst\n{theirs_csv}"
