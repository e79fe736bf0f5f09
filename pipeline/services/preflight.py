"""Checks of a run's services before any work: each failure names the setting, in seconds, not minutes.

``ray.init`` retries an unreachable GCS for minutes and can hang on an open port that is not Ray;
Spark's driver waits for a master that never answers; MLflow retries a dead server at the first
logged metric, after the training. So the flow (and ``webtext train``) first checks that each
service it will use answers, and that a Ray address speaks gRPC, as Ray's GCS and its client server do.
"""

from __future__ import annotations

import os
import socket
import urllib.parse

from pipeline.services.config import Services, SparkConfig

CONNECT_TIMEOUT_S = 5.0
# An HTTP/2 client's connection preface and an empty SETTINGS frame: a gRPC server answers with SETTINGS
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
HTTP2_SETTINGS_FRAME = 4
LOCAL_RAY = (None, "", "local")


class ServiceUnavailable(ConnectionError):
    """A configured service does not answer, or answers as something else; the message names the setting."""


def ray_address(configured: str | None) -> str | None:
    """The Ray to join: ``configured``, else ``$RAY_ADDRESS``; None (or ``local``) for a local Ray of our own."""
    address = configured or os.environ.get("RAY_ADDRESS") or None
    return None if address in LOCAL_RAY else address


def check_ray(address: str | None, setting: str = "services.ray.address", timeout: float = CONNECT_TIMEOUT_S) -> None:
    """``address`` (``HOST:PORT`` of a GCS, ``ray://HOST:PORT`` of a Ray Client server) answers, and speaks gRPC."""
    if address in (*LOCAL_RAY, "auto"):
        return
    if "://" in address and not address.startswith("ray://"):
        raise ValueError(f"{setting} must be HOST:PORT or ray://HOST:PORT, got {address!r}")
    host, port = _host_port(address.removeprefix("ray://"), setting)
    with _connected(host, port, setting, address, timeout) as connection:
        try:
            connection.sendall(HTTP2_PREFACE)
            reply = connection.recv(9)
        except OSError:
            reply = b""
    if len(reply) < 4 or reply[3] != HTTP2_SETTINGS_FRAME:
        raise ServiceUnavailable(
            f"{setting}: {address!r} answers, but not as Ray (no gRPC): is it the head's GCS port (6379) "
            "or its Ray Client port (ray://HOST:10001)?"
        )


def check_spark(cfg: SparkConfig, setting: str = "services.spark.master", timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Every master of a ``spark://`` (or ``k8s://``) URL accepts connections; local and yarn need nothing."""
    if cfg.master.startswith("spark://"):
        for hostport in cfg.master.removeprefix("spark://").split(","):  # standby masters: spark://A:7077,B:7077
            with _connected(*_host_port(hostport, setting), setting, cfg.master, timeout):
                pass
    elif cfg.master.startswith("k8s://"):
        url = urllib.parse.urlsplit(cfg.master.removeprefix("k8s://"))
        port = url.port or (80 if url.scheme == "http" else 443)
        with _connected(url.hostname or "", port, setting, cfg.master, timeout):
            pass
    if cfg.auth_secret_file and not os.path.isfile(os.path.expanduser(cfg.auth_secret_file)):
        raise FileNotFoundError(f"services.spark.auth_secret_file: no file {cfg.auth_secret_file}")


def check_mlflow(
    uri: str | None, setting: str = "services.mlflow.tracking_uri", timeout: float = CONNECT_TIMEOUT_S
) -> None:
    """A tracking server (``http(s)://``) accepts connections; a local store (sqlite, a folder) needs nothing."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri or not uri.startswith(("http://", "https://")):
        return
    url = urllib.parse.urlsplit(uri)
    with _connected(url.hostname or "", url.port or (443 if url.scheme == "https" else 80), setting, uri, timeout):
        pass


def check_services(services: Services, *, ray: bool, spark: bool, mlflow: bool) -> None:
    """Check the services a run will use (the flags say which); the first one that fails raises."""
    if ray:
        check_ray(ray_address(services.ray.address))
    if spark:
        check_spark(services.spark)
    if mlflow:
        check_mlflow(services.mlflow.tracking_uri)


def _host_port(hostport: str, setting: str) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit("//" + hostport)
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ValueError(f"{setting}: {hostport!r} is not HOST:PORT")
    return host, port


def _connected(host: str, port: int, setting: str, address: str, timeout: float) -> socket.socket:
    try:
        connection = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        raise ServiceUnavailable(f"{setting}: cannot reach {address!r}: {error}") from None
    connection.settimeout(timeout)
    return connection
