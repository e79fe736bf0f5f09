"""Address checks shared by all network code: nothing private is contacted unless allowed."""

from __future__ import annotations

import ipaddress
import random
import socket
from urllib.parse import urlsplit


class BlockedAddressError(ValueError):
    """A URL whose host resolves to a loopback, private, link-local or reserved address."""


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses (not loopback, private, link-local, ...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise BlockedAddressError(f"cannot resolve {host!r}: {error}") from error
    return sorted({info[4][0] for info in infos})


def check_public_url(url: str) -> None:
    """Raise :class:`BlockedAddressError` unless every address of ``url``'s host is public."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise BlockedAddressError(f"{url!r} has no host")
    default_port = 443 if parts.scheme == "https" else 80
    for address in resolve_host(parts.hostname, parts.port or default_port):
        if not is_public_address(address):
            raise BlockedAddressError(
                f"{url!r} resolves to non-public address {address}; set allow_private to permit it"
            )


def backoff_delay(attempt: int, base_s: float = 1.0, cap_s: float = 60.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter for retry ``attempt`` (0-based)."""
    ceiling = min(cap_s, base_s * (2**attempt))
    return (rng or random).uniform(0.5 * ceiling, ceiling)
