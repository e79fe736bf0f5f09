"""Configuration of the fetch stage, validated when it is built."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from typing import Any

from pipeline.fetch.robots_rules import PRODUCT_TOKEN, product_token
from pipeline.settings import setting
from pipeline.validation import check_range

DEFAULT_USER_AGENT = "webtext-fetch/0.1 (+https://github.com/webtext/webtext; research crawler)"
DEFAULT_CONTENT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
# robots.txt product tokens of crawlers that gather pages for generative models (docs/fetch.md "Compliance").
DEFAULT_AI_OPTOUT_AGENTS = (
    "GPTBot",
    "CCBot",
    "Google-Extended",
    "anthropic-ai",
    "ClaudeBot",
    "Applebot-Extended",
    "cohere-ai",
    "Meta-ExternalAgent",
    "FacebookBot",
    "Bytespider",
    "PerplexityBot",
    "Omgilibot",
    "Diffbot",
    "Timpibot",
)
ONE_DAY_S = 86_400.0


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

    user_agent: str = setting(DEFAULT_USER_AGENT, help="the crawler's User-Agent")
    concurrency: int = setting(256, help="requests in flight at once")
    per_host_concurrency: int = setting(4, flag="per-host", help="requests in flight per host")
    per_host_delay_s: float = setting(0.5, flag="delay", help="seconds between request starts per host")
    connect_timeout_s: float = setting(10.0, flag="connect-timeout", help="seconds to connect")
    read_timeout_s: float = setting(20.0, flag="read-timeout", help="seconds between two reads of a response")
    total_timeout_s: float = setting(60.0, flag="timeout", help="total seconds per request")
    max_bytes: int = setting(5 << 20, help="largest body kept, after decompression (bytes)")
    max_redirects: int = setting(5, help="redirects followed per URL")
    content_types: tuple[str, ...] = setting(DEFAULT_CONTENT_TYPES, help="content types archived and extracted")
    max_retries: int = setting(3, flag="retries", help="retries on connection errors, 5xx and 429")
    backoff_base_s: float = setting(0.5, flag="backoff-base", help="first retry delay, doubled per retry (jittered)")
    backoff_cap_s: float = setting(30.0, flag="backoff-cap", help="longest retry delay")
    max_retry_after_s: float = setting(120.0, flag="max-retry-after", help="longest Retry-After honoured")
    circuit_breaker_failures: int = setting(5, help="consecutive failures after which a host is skipped")
    respect_robots: bool = setting(True, flag="robots", help="obey robots.txt (turn off for your own sites only)")
    respect_ai_optouts: bool = setting(
        True, flag="ai-optouts", help="obey robots.txt groups naming the AI-training crawlers of ai_optout_agents too"
    )
    ai_optout_agents: tuple[str, ...] = setting(
        DEFAULT_AI_OPTOUT_AGENTS, help="product tokens of AI-training crawlers whose robots.txt groups bind webtext"
    )
    robots_ttl_s: float = setting(
        ONE_DAY_S, flag="robots-ttl", help="seconds a robots.txt is obeyed before it is read again (at most a day)"
    )
    robots_retry_s: float = setting(
        300.0,
        flag="robots-retry",
        help="seconds a robots.txt answering 5xx or 429 disallows all before it is asked again",
    )
    read_tdmrep_file: bool = setting(
        True,
        flag="tdmrep-file",
        help="read each site's /.well-known/tdmrep.json (TDMRep) and record what it reserves in the pages rows",
    )
    allow_private: bool = setting(False, help="allow private, loopback and link-local addresses from DNS")
    resolve: Mapping[str, str] = setting(
        factory=dict, help="pin HOST=IP or HOST=IP:PORT like curl --resolve (pinned addresses are trusted)"
    )
    resolve_only: bool = setting(False, help="never ask DNS: hosts not pinned fail as dns_error")
    batch_size: int = setting(1000, help="URLs per WARC file and pages shard")
    retry_failed_after_days: float | None = setting(
        1.0,
        help="fetch a URL again whose last try failed transiently (timeout, refused, 5xx, 429) after this; none: never",
    )
    refetch_after_days: float | None = setting(None, help="days after which any URL is fetched again (none: never)")
    warc_gzip_level: int = setting(1, help="gzip level of the WARC files: 1 fastest (~20% larger than 6), 9 smallest")

    def __post_init__(self) -> None:
        positive = ("concurrency", "per_host_concurrency", "max_bytes", "batch_size", "circuit_breaker_failures")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("connect_timeout_s", "read_timeout_s", "total_timeout_s", "backoff_base_s", "robots_retry_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("per_host_delay_s", "max_redirects", "max_retries", "max_retry_after_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("retry_failed_after_days", "refetch_after_days"):
            if getattr(self, name) is not None:
                check_range(name, getattr(self, name), 0.0, 100_000.0)
        if not 0 <= self.warc_gzip_level <= 9:
            raise ValueError(f"warc_gzip_level must be between 0 and 9, got {self.warc_gzip_level}")
        if not self.user_agent.strip():
            raise ValueError("user_agent must name the crawler")
        if product_token(self.user_agent) in ("", "*"):
            raise ValueError(
                f"user_agent must start with a product token (letters, '_', '-'; RFC 9309), got {self.user_agent!r}"
            )
        bad = [name for name in self.ai_optout_agents if not PRODUCT_TOKEN.fullmatch(name)]
        if bad:
            raise ValueError(f"ai_optout_agents must be product tokens (letters, '_', '-'), got {bad}")
        if not 0 < self.robots_ttl_s <= ONE_DAY_S:
            raise ValueError(f"robots_ttl_s must be > 0 and at most {ONE_DAY_S:g} (RFC 9309), got {self.robots_ttl_s}")
        object.__setattr__(self, "resolve", {host.lower(): ip for host, ip in dict(self.resolve).items()})
        parse_resolve([f"{host}={ip}" for host, ip in self.resolve.items()])

    @property
    def robots_token(self) -> str:
        """The product token robots.txt groups are matched against: the User-Agent's first (``webtext-fetch``)."""
        return product_token(self.user_agent)

    @property
    def ai_optout_tokens(self) -> tuple[str, ...]:
        """The AI-training crawlers whose groups bind webtext, lower-cased; none when the opt-outs are off."""
        if not (self.respect_robots and self.respect_ai_optouts):
            return ()
        return tuple(dict.fromkeys(name.lower() for name in self.ai_optout_agents))

    def describe(self) -> dict[str, Any]:
        """The settings as the run summary records them."""
        return {**dataclasses.asdict(self), "resolve": dict(self.resolve)}
