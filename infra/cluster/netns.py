"""``CLUSTER=netns``: the cluster's hosts as Linux network namespaces on one bridge (root only).

``wt-head`` (PostgreSQL, Prefect, MLflow, the Spark master and a Ray head), ``wt-w1`` and ``wt-w2`` (Spark
workers; ``wt-w1`` also the Ray worker node) and ``wt-flow`` (the Prefect worker, which runs the flow: the
Spark driver and Ray's client) each get a veth on the bridge ``wt-br0``, on a private /24 that clashes with
no route of this machine. The root namespace gets the bridge's first address, so every address in
``cluster.env`` is reachable from here. "localhost" on a host is that host alone, as on a real cluster.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterable

from infra.cluster.supervisor import ClusterError, Host

BRIDGE = "wt-br0"
HOSTS = ("head", "w1", "w2", "flow")
REMOVE_TIMEOUT_S = 10.0
CANDIDATES = [ipaddress.ip_network(f"10.{second}.{third}.0/24") for second in (213, 214, 215) for third in range(16)]


def used_networks() -> list[ipaddress.IPv4Network]:
    """The networks this machine already routes to or has addresses in (never to be shadowed)."""
    routes = json.loads(_ip(["-j", "-4", "route", "show", "table", "all"], capture=True) or "[]")
    networks = [ipaddress.ip_network(route["dst"], strict=False) for route in routes if route["dst"] != "default"]
    addresses = json.loads(_ip(["-j", "-4", "addr"], capture=True) or "[]")
    for interface in addresses:
        for info in interface.get("addr_info", []):
            networks.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}", strict=False))
    return [network for network in networks if isinstance(network, ipaddress.IPv4Network)]


def free_subnet(used: Iterable[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    taken = list(used)
    for candidate in CANDIDATES:
        if not any(candidate.overlaps(network) for network in taken):
            return candidate
    raise ClusterError("no free private /24 for the cluster's bridge among 10.213-215.0-15.0/24")


@dataclasses.dataclass(slots=True)
class Network:
    """What ``create_hosts`` made (kept in ``state.json``), so that ``remove_hosts`` removes exactly that."""

    subnet: str
    bridge: str = BRIDGE
    namespaces: list[str] = dataclasses.field(default_factory=list)


def create_hosts() -> tuple[dict[str, Host], Network]:
    """Make the bridge and a namespace per host; returns the hosts (and ``root``: this namespace's address)."""
    existing = set(_ip(["netns", "list"], capture=True).split())
    if existing & {f"wt-{name}" for name in HOSTS} or _link_exists(BRIDGE):
        raise ClusterError(f"a cluster's namespaces or {BRIDGE} already exist: make cluster-down first")
    subnet = free_subnet(used_networks())
    addresses = list(subnet.hosts())
    record = Network(str(subnet))
    try:
        _ip(["link", "add", BRIDGE, "type", "bridge"])
        _ip(["addr", "add", f"{addresses[0]}/{subnet.prefixlen}", "dev", BRIDGE])
        _ip(["link", "set", BRIDGE, "up"])
        hosts = {}
        for number, name in enumerate(HOSTS, start=1):
            hosts[name] = _add_namespace(name, str(addresses[number]), subnet.prefixlen, record)
    except (ClusterError, subprocess.CalledProcessError):
        remove_hosts(record)
        raise
    hosts["root"] = Host("root", str(addresses[0]))
    return hosts, record


def _add_namespace(name: str, address: str, prefix: int, record: Network) -> Host:
    namespace, outside, inside = f"wt-{name}", f"wt-{name}-o", f"wt-{name}-i"
    _ip(["netns", "add", namespace])
    record.namespaces.append(namespace)
    _ip(["link", "add", outside, "type", "veth", "peer", "name", inside, "netns", namespace])
    _ip(["link", "set", outside, "master", BRIDGE, "up"])
    _ip(["-n", namespace, "addr", "add", f"{address}/{prefix}", "dev", inside])
    _ip(["-n", namespace, "link", "set", inside, "up"])
    _ip(["-n", namespace, "link", "set", "lo", "up"])
    return Host(name, address, namespace, inside)


def remove_hosts(record: Network) -> None:
    """Delete the namespaces (their veths go with them) and the bridge; returns once they are gone."""
    for namespace in record.namespaces:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
    if _link_exists(record.bridge):
        subprocess.run(["ip", "link", "del", record.bridge], capture_output=True)
    deadline = time.monotonic() + REMOVE_TIMEOUT_S  # a namespace's veth goes a moment after the namespace
    while (left := _leftovers(record)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        raise ClusterError(f"could not remove {left}")


def _leftovers(record: Network) -> list[str]:
    namespaces = set(_ip(["netns", "list"], capture=True).split()) & set(record.namespaces)
    links = [f"{namespace}-o" for namespace in record.namespaces] + [record.bridge]
    return sorted(namespaces) + [link for link in links if _link_exists(link)]


def netns_available() -> str | None:
    """Why ``CLUSTER=netns`` cannot run here (None: it can), found by making a namespace and a bridge and removing
    them: root is not enough in a container without CAP_SYS_ADMIN and CAP_NET_ADMIN."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    probe = f"wt-probe-{os.getpid()}"
    try:
        for arguments in (["netns", "add", probe], ["link", "add", probe[:15], "type", "bridge"]):
            result = subprocess.run(["ip", *arguments], capture_output=True, text=True)
            if result.returncode != 0:
                return f"ip {' '.join(arguments)} fails here: {result.stderr.strip()}"
        return None
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
        subprocess.run(["ip", "link", "del", probe[:15]], capture_output=True)


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def _ip(arguments: list[str], capture: bool = False) -> str:
    result = subprocess.run(["ip", *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        raise ClusterError(f"ip {' '.join(arguments)}: {result.stderr.strip()}")
    return result.stdout if capture else ""
