"""Training metrics sent to MLflow by a thread of their own: a tracking server that stops answering (restarted,
upgraded, its link cut) neither stalls nor crashes training, and no point is lost.

``log`` queues a step's values and returns at once. The sender thread delivers the queue in batches; while the
server fails, it keeps them and tries again after a growing pause. The points not yet delivered go into every
checkpoint (``pending``), so a worker killed while the server was away sends them again after its restart (a
point sent twice carries the same value: MLflow keeps both, ``tracking.history`` reads one). ``close`` waits until
everything is delivered. A refusal no retry can fix (4xx: the run deleted, credentials refused) is raised by the
next ``log`` or ``close``, not retried for ever.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping

DELIVERY_TIMEOUT_S = 600.0  # how long ``close`` waits for an unreachable server before the worker fails
BATCH_POINTS = 150  # steps per request: MLflow takes at most 1000 metrics per log_batch, a step has about 6
PAUSE_S = (1.0, 30.0)  # the first and the longest pause between failed deliveries

Point = tuple[int, int, dict[str, float]]  # step, timestamp (ms), values


class MetricsNotDelivered(RuntimeError):
    """The tracking server refused the metrics, or did not take them within the delivery timeout."""


def is_permanent(error: BaseException) -> bool:
    """A refusal of the request itself (4xx other than 429): retrying sends the same refused request."""
    from mlflow.exceptions import MlflowException

    if not isinstance(error, MlflowException):
        return False
    status = error.get_http_status_code()
    return 400 <= status < 500 and status != 429


class BufferedMetrics:
    """One run's metrics by step, delivered in order by a background thread; ``pending`` starts the queue (the
    undelivered points a checkpoint carried)."""

    def __init__(
        self,
        uri: str,
        run_id: str,
        pending: Iterable[Point] = (),
        pause_s: tuple[float, float] = PAUSE_S,
    ) -> None:
        import mlflow

        self.uri, self.run_id = uri, run_id
        self._client, self._metric = mlflow.MlflowClient(uri), mlflow.entities.Metric
        self._unsent: list[Point] = [(int(step), int(ms), dict(values)) for step, ms, values in pending]
        self._changed = threading.Condition()
        self._closing, self._abandoned = False, threading.Event()
        self._refusal: BaseException | None = None
        self.last_error: BaseException | None = None
        self.failed_deliveries = 0
        self._pause_s = pause_s
        self._thread = threading.Thread(target=self._deliver, name="mlflow-metrics", daemon=True)
        self._thread.start()

    def log(self, step: int, values: Mapping[str, float | None]) -> None:
        """Queue the values of ``step`` (None values are skipped); raises only if the server refused the run."""
        self._raise_refusal()
        point = {key: float(value) for key, value in values.items() if value is not None}
        if point:
            with self._changed:
                self._unsent.append((step, int(time.time() * 1000), point))
                self._changed.notify_all()

    def pending(self) -> list[Point]:
        """The points not yet delivered (a batch in flight included), oldest first: what a checkpoint keeps."""
        with self._changed:
            return list(self._unsent)

    def close(self, timeout_s: float = DELIVERY_TIMEOUT_S) -> None:
        """Return once every point is delivered; raise ``MetricsNotDelivered`` if that takes over ``timeout_s``."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join(timeout_s)
        self._raise_refusal()
        if self._thread.is_alive():
            self._abandoned.set()
            with self._changed:
                left = len(self._unsent)
            raise MetricsNotDelivered(
                f"{left} steps of metrics of MLflow run {self.run_id} not delivered to {self.uri} in "
                f"{timeout_s:.0f} s; the last error: {self.last_error}"
            )

    def _raise_refusal(self) -> None:
        if self._refusal is not None:
            raise MetricsNotDelivered(
                f"the tracking server at {self.uri} refused the metrics of run {self.run_id}: {self._refusal}"
            ) from self._refusal

    def _deliver(self) -> None:
        pause = self._pause_s[0]
        while not self._abandoned.is_set():
            with self._changed:
                while not self._unsent and not self._closing:
                    self._changed.wait()
                batch = self._unsent[:BATCH_POINTS]
            if not batch:
                return  # closing, and everything delivered
            try:
                self._send(batch)
            except Exception as error:  # noqa: BLE001 - every failure is kept and retried, or raised to the loop
                if is_permanent(error):
                    self._refusal = error
                    return
                self.last_error, self.failed_deliveries = error, self.failed_deliveries + 1
                self._abandoned.wait(pause)
                pause = min(pause * 2, self._pause_s[1])
                continue
            pause = self._pause_s[0]
            with self._changed:
                del self._unsent[: len(batch)]

    def _send(self, batch: list[Point]) -> None:
        metrics = [
            self._metric(key, value, ms, step) for step, ms, values in batch for key, value in sorted(values.items())
        ]
        self._client.log_batch(self.run_id, metrics=metrics)
