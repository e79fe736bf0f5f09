"""Configuration of the harvest stage, validated when it is built."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.harvest.blocklists import check_unique_names
from pipeline.harvest.link_rules import BLOCKED_EXTENSIONS, DEFAULT_BLOCKED_DOMAINS
from pipeline.settings import setting, workers_setting
from pipeline.validation import check_range, check_workers


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
    ``blocklists`` are read when the harvest starts and applied per bucket, after the scans: their
    content is part of the buckets' fingerprints, not the scans'.
    """

    min_karma: int = setting(3, help="keep URLs whose karma, summed over their submissions, is at least this")
    after: datetime | None = setting(None, help="keep submissions created at or after this UTC date (YYYY-MM-DD)")
    before: datetime | None = setting(None, help="keep submissions created before this UTC date (YYYY-MM-DD)")
    allow_nsfw: bool = setting(False, help="keep submissions marked over_18")
    blocked_domains: tuple[str, ...] = setting(
        DEFAULT_BLOCKED_DOMAINS, help="hosts (and their subdomains) whose links are dropped: image, video, file hosts"
    )
    extra_blocked_domains: tuple[str, ...] = setting(
        (), flag="block-domain", help="hosts blocked in addition to blocked_domains"
    )
    blocked_extensions: tuple[str, ...] = setting(
        tuple(sorted(BLOCKED_EXTENSIONS)), help="file extensions of links that are dropped (images, video, archives)"
    )
    blocklists: tuple[Path, ...] = setting(
        (),
        flag="blocklist",
        help="files of domains and URL patterns whose links are dropped too, each hit counted as "
        "blocklisted:<file stem> (docs/harvest.md, Blocklists)",
    )
    n_buckets: int = setting(16, flag="buckets", help="URL-hash buckets = output shards; memory is one bucket")
    skip_corrupt: bool = setting(
        False, help="report a truncated or corrupt dump and keep what was readable, instead of failing"
    )
    workers: int | None = workers_setting()

    def __post_init__(self) -> None:
        if isinstance(self.min_karma, bool) or not isinstance(self.min_karma, int):
            raise ValueError(f"min_karma must be an integer, got {self.min_karma!r}")
        check_range("n_buckets", self.n_buckets, 1, 65536, integer=True)
        check_workers(self.workers)
        object.__setattr__(self, "after", parse_utc(self.after, field="after"))
        object.__setattr__(self, "before", parse_utc(self.before, field="before"))
        if self.after and self.before and self.after >= self.before:
            raise ValueError(f"after ({self.after:%Y-%m-%d}) must be earlier than before ({self.before:%Y-%m-%d})")
        for name in ("blocked_domains", "extra_blocked_domains"):
            domains = tuple(domain.strip().lower().removeprefix("www.") for domain in getattr(self, name))
            if any(not domain or "/" in domain for domain in domains):
                raise ValueError(f"{name} must be bare host names, got {list(getattr(self, name))}")
            object.__setattr__(self, name, domains)
        object.__setattr__(self, "blocklists", tuple(Path(path) for path in self.blocklists))
        check_unique_names(self.blocklists)
        extensions = tuple(extension.lower().lstrip(".") for extension in self.blocked_extensions)
        object.__setattr__(self, "blocked_extensions", extensions)

    @property
    def all_blocked_domains(self) -> tuple[str, ...]:
        return (*self.blocked_domains, *self.extra_blocked_domains)

    def scan_identity(self) -> dict[str, Any]:
        """The settings that change which submissions a scan keeps (min_karma is applied later)."""
        return {
            "after": self.after,
            "before": self.before,
            "allow_nsfw": self.allow_nsfw,
            "blocked_domains": sorted(self.all_blocked_domains),
            "blocked_extensions": sorted(self.blocked_extensions),
            "n_buckets": self.n_buckets,
        }
