"""The cluster's processes: started in sessions of their own, remembered in ``state.json``, stopped for good.

Every process carries ``WEBTEXT_CLUSTER=<the cluster's folder>`` in its environment, and so does
everything it starts (Ray's raylets and workers, Spark's executors, Postgres' backends). Stopping the
cluster signals each recorded process group, then finds whatever is left by that mark, kills it and
waits until it is gone: nothing outlives ``make cluster-down``, whatever forked or re-parented.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil

STATE_FILE = "state.json"
MARK = "WEBTEXT_CLUSTER"
STOP_GRACE_S = 20.0


class ClusterError(RuntimeError):
    """A service did not start (or stop); the message names it and ends with its log's last lines."""


@dataclasses.dataclass(frozen=True, slots=True)
class Host:
    """Where a service runs: a name, the address others reach it at, its network namespace (None: this one) and
    there the interface of that address (for software that picks an interface rather than an address)."""

    name: str
    address: str
    netns: str | None = None
    interface: str | None = None

    def command(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv


class Cluster:
    """The processes of one cluster, rooted at ``root`` (logs in ``root/logs``, the record in ``state.json``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # services that run as other users (postgres) pass through it; secrets/ stays 0700
        self.logs = self.root / "logs"
        self.state: dict[str, Any] = read_state(self.root)
        self.state.setdefault("processes", [])
        self._ports: set[tuple[str, int]] = set()

    def port(self, host: Host) -> int:
        """A port free on ``host`` and not yet handed to another service of this cluster."""
        while (host.address, port := free_port(host)) in self._ports:
            pass
        self._ports.add((host.address, port))
        return port

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        host: Host,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> subprocess.Popen:
        """Start ``argv`` on ``host`` (as ``user`` when given) in a session of its own, logging to ``logs/NAME.log``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        environment = {**(env if env is not None else os.environ), MARK: str(self.root)}
        command = host.command(["runuser", "-u", user, "--", *argv] if user else argv)
        with self.log_path(name).open("ab") as log:
            process = subprocess.Popen(
                command,
                env=environment,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.state["processes"].append({"name": name, "pid": process.pid, "stop_signal": int(stop_signal)})
        self.save()
        return process

    def pid(self, name: str) -> int:
        """The pid, and process group, of the process last started as ``name`` (a service started again is the
        newest)."""
        pids = [entry["pid"] for entry in self.state["processes"] if entry["name"] == name]
        if not pids:
            raise ClusterError(f"no process named {name!r} was started in {self.root}")
        return pids[-1]

    def remember(self, **values: Any) -> None:
        """Keep ``values`` (ports, URLs, paths) in ``state.json`` for ``status``, ``down`` and the tests."""
        self.state.update(values)
        self.save()

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".{STATE_FILE}.tmp"
        temporary.write_text(json.dumps(self.state, indent=2, sort_keys=True), encoding="utf-8")
        temporary.replace(self.root / STATE_FILE)

    def wait(self, name: str, ready: Callable[[], bool], timeout_s: float, process: subprocess.Popen | None) -> None:
        """Wait until ``ready()``; fail naming ``name`` with its log's tail if it takes too long or the process ends."""
        deadline = time.monotonic() + timeout_s
        while not ready():
            if process is not None and process.poll() is not None:
                raise ClusterError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
            if time.monotonic() > deadline:
                raise ClusterError(f"{name} not ready after {timeout_s:.0f} s:\n{self.log_tail(name)}")
            time.sleep(0.5)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_path(name)
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def read_state(root: Path) -> dict[str, Any]:
    path = root / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def free_port(host: Host | str = "127.0.0.1") -> int:
    """A port nothing listens on at ``host``'s address, asked of its own network namespace."""
    if isinstance(host, str) or host.netns is None:
        with socket.socket() as probe:
            probe.bind((host if isinstance(host, str) else host.address, 0))
            return probe.getsockname()[1]
    probe = f"import socket; s = socket.socket(); s.bind(({host.address!r}, 0)); print(s.getsockname()[1])"
    result = subprocess.run(host.command([sys.executable, "-c", probe]), capture_output=True, text=True, check=True)
    return int(result.stdout)


def port_open(address: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=1):
        return True
    return False


def http_answers(url: str, headers: Mapping[str, str] | None = None) -> bool:
    """True when ``url`` answers 2xx (``headers``: credentials, for the services that ask for them)."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return 200 <= response.status < 300
    except (OSError, urllib.error.URLError, ValueError):
        return False


def marked_processes(root: Path) -> Iterator[psutil.Process]:
    """Every process whose environment marks it as part of the cluster at ``root``."""
    mark = str(root.resolve())
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.environ().get(MARK) == mark:
                yield process


def stop(root: Path, grace_s: float = STOP_GRACE_S) -> list[str]:
    """Stop every process of the cluster at ``root``, newest first, and return once all are gone; names them."""
    root = root.resolve()
    state = read_state(root)
    stopped = []
    for entry in reversed(state.get("processes", [])):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(entry["pid"], entry.get("stop_signal", signal.SIGTERM))
            stopped.append(entry["name"])
    left = _wait_gone(list(marked_processes(root)), grace_s)
    for process in left:  # whatever ignored its signal, or forked out of its group
        with contextlib.suppress(psutil.Error):
            process.kill()
    still = _wait_gone(left, grace_s)
    if still:
        raise ClusterError(f"processes of {root} would not die: {[p.pid for p in still]}")
    (root / STATE_FILE).unlink(missing_ok=True)
    return stopped


def _wait_gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=timeout_s)
    return alive
