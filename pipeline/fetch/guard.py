"""The SSRF guard: no request, nor redirect hop, to an address the crawler must not reach.

Host names are checked inside the connector's resolver, on the very addresses the socket
then connects to, so a DNS answer that changes between check and connect (rebinding)
cannot slip through. aiohttp skips the resolver for IP literals, so those are checked
by :func:`check_literal` before each hop.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from pipeline.fetch.config import split_pin
from pipeline.net import is_public_address

# Names that can never exist in public DNS: asking for them only leaks queries.
RESERVED_SUFFIXES = (".test", ".example", ".invalid", ".local", ".internal")


class BlockedHostError(OSError):
    """The host resolves to a loopback, private, link-local, multicast or reserved address."""


class UnresolvedHostError(OSError):
    """The host is not pinned and DNS is off (``resolve_only``) or has no answer."""


def check_literal(url: str, allow_private: bool) -> None:
    """Raise :class:`BlockedHostError` for a URL whose host is a non-public IP literal.

    Pins trust host *names* only (as ``curl --resolve`` does): a redirect to a private
    IP literal is blocked even when a pin points somewhere private.
    """
    host = (urlsplit(url).hostname or "").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: the resolver checks it at connect time
    if not allow_private and not is_public_address(str(address)):
        raise BlockedHostError(f"{url}: {address} is not a public address")


class GuardedResolver(AbstractResolver):
    """Resolves through the ``--resolve`` pins first, then DNS, and refuses non-public answers."""

    def __init__(self, pinned: Mapping[str, str], allow_private: bool, resolve_only: bool) -> None:
        self._pinned = dict(pinned)
        self._allow_private = allow_private
        self._resolve_only = resolve_only
        self._dns = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        pin = self._pinned.get(host.lower())
        if pin is not None:
            address, pinned_port = split_pin(pin)
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            answer = ResolveResult(
                hostname=host, host=address, port=pinned_port or port, family=family, proto=0, flags=0
            )
            return [answer]
        name = host.lower().rstrip(".")
        if not self._allow_private and (name == "localhost" or name.endswith(".localhost")):
            raise BlockedHostError(f"{host} is a loopback name (RFC 6761)")  # even when DNS is off
        if self._resolve_only:
            raise UnresolvedHostError(f"{host} is not pinned with --resolve and DNS is off")
        if name.endswith(RESERVED_SUFFIXES):
            raise UnresolvedHostError(f"{host} is under a reserved top-level domain (RFC 2606/6761): not asked of DNS")
        answers = await self._dns.resolve(host, port, family)
        if not self._allow_private:
            for answer in answers:
                if not is_public_address(answer["host"]):
                    raise BlockedHostError(f"{host} resolves to {answer['host']}, not a public address")
        return answers

    async def close(self) -> None:
        await self._dns.close()
