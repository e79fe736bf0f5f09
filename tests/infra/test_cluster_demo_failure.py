"""A deployment run that fails on the cluster says why in the error itself: the cluster's folder, and with it the
worker's log, is gone once a test tears the cluster down."""

from __future__ import annotations

from pathlib import Path

from infra.cluster.demo import worker_log_tail


def test_the_tail_of_each_workers_log_is_in_the_message(tmp_path: Path) -> None:
    lines = [f"line {number}" for number in range(200)] + ["PySparkRuntimeError: [JAVA_GATEWAY_EXITED] ..."]
    (tmp_path / "prefect-worker-flow.log").write_text("\n".join(lines) + "\n")
    (tmp_path / "spark-master.log").write_text("not the flow's\n")
    tail = worker_log_tail(tmp_path, lines=5)
    assert tail.splitlines() == [
        "--- prefect-worker-flow.log ---",
        "line 196",
        "line 197",
        "line 198",
        "line 199",
        "PySparkRuntimeError: [JAVA_GATEWAY_EXITED] ...",
    ]


def test_a_missing_worker_log_is_named(tmp_path: Path) -> None:
    assert worker_log_tail(tmp_path) == f"(no prefect-worker*.log in {tmp_path})"
