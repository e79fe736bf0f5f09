"""``BufferedMetrics`` against a real MLflow tracking server on loopback that is stopped and started again: logging
returns at once while the server is away, the undelivered points are what a checkpoint keeps, and after the
restart every step is in the run with its value. A refusal (a run that does not exist) is raised, not retried.

MLflow's own HTTP retries (minutes of backoff) are turned off here so that the buffer's retries are what delivers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from pipeline.tracking import history, start_run
from training.checkpoint import load_checkpoint, save_checkpoint
from training.metric_buffer import BufferedMetrics, MetricsNotDelivered
from training.model import GPT, GPTConfig

MLFLOW = Path(sys.executable).parent / "mlflow"
FAST = (0.2, 1.0)  # the buffer's pauses between retries


class TrackingServer:
    """``mlflow server`` on a SQLite store in ``folder``, on one loopback port across restarts."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.process = folder, None
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.uri = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        argv += ["--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}"]
        argv += ["--artifacts-destination", str(self.folder / "artifacts")]
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            argv, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 90
        while not self._answers():
            assert self.process.poll() is None, (self.folder / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the MLflow server did not answer in 90 s"
            time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def _answers(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TrackingServer]:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    tracking = TrackingServer(tmp_path)
    tracking.start()
    try:
        yield tracking
    finally:
        tracking.stop()


@pytest.mark.e2e
def test_metrics_logged_while_the_server_is_away_arrive_after_it_returns(server: TrackingServer) -> None:
    run_id = start_run(server.uri, "buffer", "train-tiny", {}, {})
    buffer = BufferedMetrics(server.uri, run_id, pause_s=FAST)
    buffer.log(1, {"train_loss": 5.0, "lr": 1e-3, "mfu": None})
    deadline = time.monotonic() + 30
    while buffer.pending():
        assert time.monotonic() < deadline, "step 1 not delivered to a live server"
        time.sleep(0.1)

    server.stop()
    started = time.monotonic()
    for step in range(2, 7):
        buffer.log(step, {"train_loss": 5.0 - step / 10, "lr": 1e-3})
    assert time.monotonic() - started < 1.0  # training does not wait for the server
    time.sleep(2)  # several failed deliveries
    assert [point[0] for point in buffer.pending()] == [2, 3, 4, 5, 6]  # what a checkpoint now keeps
    assert buffer.failed_deliveries >= 1 and buffer.last_error is not None

    server.start()
    buffer.log(7, {"train_loss": 4.2, "lr": 1e-3})
    buffer.close(timeout_s=60)
    assert buffer.pending() == []
    expected = [(1, 5.0), *[(step, 5.0 - step / 10) for step in range(2, 7)], (7, 4.2)]
    assert history(server.uri, run_id, "train_loss") == expected
    assert [step for step, _ in history(server.uri, run_id, "lr")] == list(range(1, 8))


def test_close_names_the_server_and_what_is_left_when_it_never_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with socket.socket() as probe:  # a port nothing listens on: every delivery is refused
        probe.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{probe.getsockname()[1]}"
    buffer = BufferedMetrics(uri, "1" * 32, pause_s=FAST)
    buffer.log(1, {"train_loss": 5.0})
    with pytest.raises(MetricsNotDelivered, match=rf"1 steps .* 1{{32}} not delivered to {uri} in 2 s; the last"):
        buffer.close(timeout_s=2)
    assert buffer.failed_deliveries >= 1


def test_a_refused_run_is_raised_at_the_next_call_not_retried(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    start_run(uri, "buffer", "train-tiny", {}, {})  # the store exists; the run below does not
    buffer = BufferedMetrics(uri, "0" * 32, pause_s=FAST)
    buffer.log(1, {"train_loss": 5.0})
    with pytest.raises(MetricsNotDelivered, match="refused the metrics of run 0{32}"):
        buffer.close(timeout_s=30)
    assert buffer.failed_deliveries == 0


def test_a_checkpoint_carries_the_undelivered_points(tmp_path: Path) -> None:
    model = GPT(GPTConfig(vocab_size=64, block_size=8, n_layer=1, n_head=2, n_embd=16))
    optimizer = torch.optim.AdamW(model.parameters())
    points = [(10, 1_700_000_000_000, {"train_loss": 3.5, "lr": 1e-3}), (11, 1_700_000_000_500, {"train_loss": 3.4})]
    save_checkpoint(tmp_path, model, optimizer, 11, {}, {}, points)
    assert load_checkpoint(tmp_path, model, optimizer)["undelivered_metrics"] == points
    save_checkpoint(tmp_path, model, optimizer, 12, {}, {})
    assert load_checkpoint(tmp_path, model, optimizer)["undelivered_metrics"] == []
