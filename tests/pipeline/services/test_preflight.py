"""Services are checked before any work: unreachable, not Ray, or a bad URL fails in seconds, naming the setting."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import pytest

from pipeline.services.config import MlflowService, RayService, Services, SparkConfig
from pipeline.services.preflight import (
    ServiceUnavailable,
    check_mlflow,
    check_ray,
    check_services,
    check_spark,
    ray_address,
)


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def http_port() -> Iterator[int]:
    """An HTTP/1.1 server: open, but not Ray."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.fixture
def grpc_port() -> Iterator[int]:
    """A gRPC server, as Ray's GCS and Ray Client server are."""
    import grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(None)


def test_a_grpc_server_passes(grpc_port: int) -> None:
    check_ray(f"127.0.0.1:{grpc_port}")
    check_ray(f"ray://127.0.0.1:{grpc_port}")


def test_an_unreachable_ray_fails_in_seconds_naming_the_setting() -> None:
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match=r"services.ray.address: cannot reach 'ray://127.0.0.1:\d+'"):
        check_ray(f"ray://127.0.0.1:{closed_port()}")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("fixture", ["http_port", "silent_port"])
def test_an_open_port_that_is_not_ray_is_refused(request: pytest.FixtureRequest, fixture: str) -> None:
    port = request.getfixturevalue(fixture)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="answers, but not as Ray"):
        check_ray(f"127.0.0.1:{port}", timeout=1.0)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("address", ["http://127.0.0.1:8265", "ray://no-port", "127.0.0.1:notaport"])
def test_a_malformed_ray_address_names_the_setting(address: str) -> None:
    with pytest.raises(ValueError, match="ray_address"):
        check_ray(address, setting="ray_address")


def test_a_local_ray_needs_no_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert ray_address(None) is None and ray_address("local") is None
    check_ray(None)
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    assert ray_address(None) == "127.0.0.1:6379" and ray_address("ray://h:1") == "ray://h:1"


def test_spark_masters_are_reached_and_local_needs_nothing(silent_port: int) -> None:
    check_spark(SparkConfig(master="local[2]"))
    check_spark(SparkConfig(master=f"spark://127.0.0.1:{silent_port}"))
    with pytest.raises(ServiceUnavailable, match="services.spark.master: cannot reach"):
        check_spark(SparkConfig(master=f"spark://127.0.0.1:{silent_port},127.0.0.1:{closed_port()}"))


def test_a_missing_spark_secret_file_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="auth_secret_file"):
        check_spark(SparkConfig(auth_secret_file=str(tmp_path / "absent")))


def test_a_tracking_server_is_reached_and_a_local_store_needs_nothing(
    monkeypatch: pytest.MonkeyPatch, http_port: int
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    check_mlflow(None)
    check_mlflow("sqlite:////tmp/nowhere/mlflow.db")
    check_mlflow(f"http://127.0.0.1:{http_port}")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ServiceUnavailable, match="services.mlflow.tracking_uri: cannot reach"):
        check_mlflow(None)


def test_only_the_services_a_run_uses_are_checked() -> None:
    dead = f"127.0.0.1:{closed_port()}"
    services = Services(
        ray=RayService(address=dead),
        spark=SparkConfig(master=f"spark://{dead}"),
        mlflow=MlflowService(tracking_uri=f"http://{dead}"),
    )
    check_services(services, ray=False, spark=False, mlflow=False)
    for used in ("ray", "spark", "mlflow"):
        with pytest.raises(ServiceUnavailable, match=f"services.{used}"):
            check_services(services, **{name: name == used for name in ("ray", "spark", "mlflow")})
