"""Configuration of the harvest stage, validated when it is built."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from pipeline.harvest.urls import BLOCKED_EXTENSIONS, DEFAULT_BLOCKED_DOMAINS


def parse_utc(text: str | datetime | None, *, field: str) -> datetime | None:
    """A UTC datetime from ``YYYY-MM-DD`` or ISO 8601 text; naive values are taken as UTC."""
    if text is None or isinstance(text, datetime):
        value = text
    else:
        try:
            value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        except ValueError as error:
            raise ValueError(f"{field}: {text!r} is not a date; use YYYY-MM-DD or an ISO 8601 timestamp") from error
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC) if value is not None else None


@dataclasses.dataclass(frozen=True, slots=True)
class HarvestConfig:
    """Which Reddit submissions count, and how links are grouped on disk.

    ``after`` is inclusive and ``before`` exclusive, so consecutive monthly windows
    never count a submission twice. ``n_buckets`` sets how many URL-hash partitions
    (and output shards) the aggregation uses: memory in that phase is one bucket.
    ``workers`` changes speed only, never results, so it is not part of any fingerprint.
    """

    min_karma: int = 3
    after: datetime | None = None
    before: datetime | None = None
    allow_nsfw: bool = False
    blocked_domains: tuple[str, ...] = DEFAULT_BLOCKED_DOMAINS
    blocked_extensions: tuple[str, ...] = tuple(sorted(BLOCKED_EXTENSIONS))
    n_buckets: int = 16
    skip_corrupt: bool = False
    workers: int | None = None  # classification processes; None: one per core

    def __post_init__(self) -> None:
        if isinstance(self.min_karma, bool) or not isinstance(self.min_karma, int):
            raise ValueError(f"min_karma must be an integer, got {self.min_karma!r}")
        if not 1 <= self.n_buckets <= 65536:
            raise ValueError(f"n_buckets must be between 1 and 65536, got {self.n_buckets}")
        if self.workers is not None and not 1 <= self.workers <= 1024:
            raise ValueError(f"workers must be between 1 and 1024 (or None: one per core), got {self.workers}")
        object.__setattr__(self, "after", parse_utc(self.after, field="after"))
        object.__setattr__(self, "before", parse_utc(self.before, field="before"))
        if self.after and self.before and self.after >= self.before:
            raise ValueError(f"after ({self.after:%Y-%m-%d}) must be earlier than before ({self.before:%Y-%m-%d})")
        domains = tuple(domain.strip().lower().removeprefix("www.") for domain in self.blocked_domains)
        if any(not domain or "/" in domain for domain in domains):
            raise ValueError(f"blocked_domains must be bare host names, got {list(self.blocked_domains)}")
        object.__setattr__(self, "blocked_domains", domains)
        extensions = tuple(extension.lower().lstrip(".") for extension in self.blocked_extensions)
        object.__setattr__(self, "blocked_extensions", extensions)

    def scan_identity(self) -> dict[str, Any]:
        """The settings that change which submissions a scan keeps (min_karma is applied later)."""
        return {
            "after": self.after,
            "before": self.before,
            "allow_nsfw": self.allow_nsfw,
            "blocked_domains": sorted(self.blocked_domains),
            "blocked_extensions": sorted(self.blocked_extensions),
            "n_buckets": self.n_buckets,
        }
