"""Which TCP ports a process tree listens on, so a test can prove a server the project starts binds loopback only.

docs/security.md: on the embedded default every server binds 127.0.0.1. A server's own log or URL says where it
*answers*, not where it *listens* (a UI on 0.0.0.0 still answers on 127.0.0.1), and servers spawn workers
that open ports of their own: so the kernel's view of the whole process tree is what the tests check.
Uses psutil (a Ray dependency) when installed, else reads ``/proc`` (Linux).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

try:
    import psutil
except ImportError:  # pragma: no cover - psutil comes with Ray; /proc is the fallback
    psutil = None

TCP_LISTEN = "0A"  # the state column of /proc/net/tcp{,6}


class Listener(NamedTuple):
    pid: int
    name: str
    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.name} (pid {self.pid}) on {self.ip}:{self.port}"


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (children of children included)."""
    tree = [pid]
    for member in tree:
        tree.extend(_children(member))
    return tree


def listening_sockets(pids: Iterable[int]) -> list[Listener]:
    """The TCP sockets in LISTEN state that the processes ``pids`` hold (a process that ended is skipped)."""
    return [listener for pid in pids for listener in (_psutil_listeners if psutil else _proc_listeners)(pid)]


def tree_listeners(pid: int) -> list[Listener]:
    """The listening TCP sockets of ``pid`` and of all its descendants."""
    return listening_sockets(process_tree(pid))


def server_tree_listeners(port: int, parent: int | None = None) -> list[Listener]:
    """The listeners of the child process tree of ``parent`` (default: this process) that listens on ``port``:
    for a server whose starter keeps its process to itself, and without counting unrelated children."""
    for child in _children(parent or os.getpid()):
        listeners = tree_listeners(child)
        if any(listener.port == port for listener in listeners):
            return listeners
    raise AssertionError(f"no child process tree of pid {parent or os.getpid()} listens on port {port}")


def is_loopback(ip: str) -> bool:
    """127.0.0.0/8 and ::1, also as an IPv4-mapped address (a JVM's sockets: ``::ffff:127.0.0.1``)."""
    address = ipaddress.ip_address(ip)
    return (getattr(address, "ipv4_mapped", None) or address).is_loopback


def assert_loopback_only(listeners: list[Listener]) -> None:
    """Fail naming every process and address that listens beyond loopback."""
    exposed = [listener for listener in listeners if not is_loopback(listener.ip)]
    assert not exposed, "listening beyond loopback: " + ", ".join(map(str, exposed))


def _children(pid: int) -> list[int]:
    if psutil is not None:
        try:
            return [child.pid for child in psutil.Process(pid).children()]
        except psutil.NoSuchProcess:
            return []
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:  # the command name in parentheses may hold spaces: the parent pid is the 2nd field after it
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return children


def _psutil_listeners(pid: int) -> list[Listener]:
    try:
        process = psutil.Process(pid)
        name, connections = process.name(), process.net_connections(kind="inet")
    except psutil.NoSuchProcess:
        return []
    return [
        Listener(pid, name, conn.laddr.ip, conn.laddr.port)
        for conn in connections
        if conn.type == socket.SOCK_STREAM and conn.status == psutil.CONN_LISTEN
    ]


def _proc_listeners(pid: int) -> list[Listener]:
    try:
        name, fds = Path(f"/proc/{pid}/comm").read_text().strip(), list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return []
    inodes = set()
    for fd in fds:
        with contextlib.suppress(OSError):  # closed since listed (the listing's own fd, at least)
            inodes.add(os.readlink(fd))
    return [Listener(pid, name, ip, port) for inode, (ip, port) in _proc_listen_table().items() if inode in inodes]


def _proc_listen_table() -> dict[str, tuple[str, int]]:
    """``socket:[INODE]`` → (ip, port) of every listening TCP socket in this network namespace."""
    table = {}
    for family, path in ((socket.AF_INET, "/proc/net/tcp"), (socket.AF_INET6, "/proc/net/tcp6")):
        for line in Path(path).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == TCP_LISTEN:
                address, port = fields[1].split(":")
                raw = bytes.fromhex(address)  # 32-bit words in host (little-endian) order
                packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                table[f"socket:[{fields[9]}]"] = (socket.inet_ntop(family, packed), int(port, 16))
    return table
