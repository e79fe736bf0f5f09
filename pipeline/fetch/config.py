"""Configuration of the fetch stage, validated when it is built."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from typing import Any

DEFAULT_USER_AGENT = "webtext-fetch/0.1 (+https://github.com/webtext/webtext; research crawler)"
DEFAULT_CONTENT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


def split_pin(pin: str) -> tuple[str, int | None]:
    """``IP``, ``IP:PORT`` or ``[IPv6]:PORT`` as (address, port); raises ValueError naming the pin."""
    address, port = pin.strip(), None
    if address.startswith("["):
        address, _, rest = address[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else None
    elif address.count(":") == 1:
        address, port_text = address.split(":")
        port = int(port_text)
    ipaddress.ip_address(address)
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"port out of range in {pin!r}")
    return address, port


def parse_resolve(entries: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``HOST=IP`` or ``HOST=IP:PORT`` entries (like ``curl --resolve``) as a mapping.

    The port form lets many made-up hosts on port 80 be served by one loopback server.
    """
    mapping = {}
    for entry in entries:
        host, separator, pin = entry.partition("=")
        try:
            split_pin(pin)
        except ValueError as error:
            raise ValueError(f"resolve entry {entry!r} is not HOST=IP or HOST=IP:PORT") from error
        if not separator or not host.strip():
            raise ValueError(f"resolve entry {entry!r} is not HOST=IP or HOST=IP:PORT")
        mapping[host.strip().lower()] = pin.strip()
    return mapping


@dataclasses.dataclass(frozen=True)
class FetchConfig:
    """How fast, how patiently and where the crawler may go.

    ``resolve`` pins host names to addresses like ``curl --resolve``; pinned addresses are
    trusted even when private (that is how the sample web on 127.0.0.1 is crawled), while
    everything resolved through DNS must be public unless ``allow_private`` is set.
    ``resolve_only`` never asks DNS at all: unpinned hosts fail as ``dns_error``.
    """

    user_agent: str = DEFAULT_USER_AGENT
    concurrency: int = 256
    per_host_concurrency: int = 4
    per_host_delay_s: float = 0.5
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    total_timeout_s: float = 60.0
    max_bytes: int = 5 << 20
    max_redirects: int = 5
    content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES
    max_retries: int = 3
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    max_retry_after_s: float = 120.0
    circuit_breaker_failures: int = 5
    respect_robots: bool = True
    allow_private: bool = False
    resolve: Mapping[str, str] = dataclasses.field(default_factory=dict)
    resolve_only: bool = False
    batch_size: int = 1000
    warc_gzip_level: int = 1  # 1: fastest (~20% larger WARCs than 6); 9: smallest

    def __post_init__(self) -> None:
        positive = ("concurrency", "per_host_concurrency", "max_bytes", "batch_size", "circuit_breaker_failures")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("connect_timeout_s", "read_timeout_s", "total_timeout_s", "backoff_base_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("per_host_delay_s", "max_redirects", "max_retries", "max_retry_after_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.warc_gzip_level <= 9:
            raise ValueError(f"warc_gzip_level must be between 0 and 9, got {self.warc_gzip_level}")
        if not self.user_agent.strip():
            raise ValueError("user_agent must name the crawler")
        object.__setattr__(self, "resolve", {host.lower(): ip for host, ip in dict(self.resolve).items()})
        parse_resolve([f"{host}={ip}" for host, ip in self.resolve.items()])

    def identity(self) -> dict[str, Any]:
        """Settings that change what is fetched (speed settings are left out)."""
        return {
            "user_agent": self.user_agent,
            "max_bytes": self.max_bytes,
            "max_redirects": self.max_redirects,
            "content_types": sorted(self.content_types),
            "respect_robots": self.respect_robots,
            "allow_private": self.allow_private,
            "batch_size": self.batch_size,
        }
