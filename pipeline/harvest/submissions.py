"""Decode one NDJSON submission line and decide whether its link is kept, and if not, why.

Only the handful of fields the harvest needs are decoded (msgspec skips the other ~80
fields of a Pushshift record without building them), which is what makes the stage
several times faster than ``json.loads`` on real dumps.
"""

from __future__ import annotations

import dataclasses

import msgspec

from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.urls import REDDIT_DOMAINS, RejectedUrl, domain_of, host_matches, normalise_url, path_extension


class RawSubmission(msgspec.Struct):
    """The fields of a Pushshift / Reddit API submission object that the harvest reads."""

    id: str | None = None
    url: str | None = None
    score: int | None = None
    created_utc: int | float | str | None = None
    subreddit: str | None = None
    is_self: bool | None = None
    over_18: bool | None = None


@dataclasses.dataclass(slots=True)
class Submission:
    """A submission whose outbound link passed every rule."""

    id: str
    url: str
    domain: str
    score: int
    created_utc: int
    subreddit: str


# Submission-level outcomes, in the order the rules are checked.
OUTCOMES: tuple[str, ...] = (
    "kept",
    "blank_line",
    "malformed_json",
    "bad_type",
    "missing_url",
    "self_post",
    "out_of_window",
    "nsfw",
    "not_http",
    "invalid_url",
    "reddit_link",
    "blocked_domain",
    "blocked_extension",
)


def _created_seconds(value: int | float | str | None) -> int | None:
    """Epoch seconds from the int, float or numeric-string forms found in old dumps."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    return int(value)


class SubmissionClassifier:
    """Applies the harvest rules of one :class:`HarvestConfig` to raw lines."""

    def __init__(self, cfg: HarvestConfig) -> None:
        self._decoder = msgspec.json.Decoder(RawSubmission)
        self._after = int(cfg.after.timestamp()) if cfg.after else None
        self._before = int(cfg.before.timestamp()) if cfg.before else None
        self._allow_nsfw = cfg.allow_nsfw
        self._blocked_domains = frozenset(cfg.blocked_domains)
        self._blocked_extensions = frozenset(cfg.blocked_extensions)

    def classify(self, line: bytes) -> Submission | str:
        """The kept :class:`Submission`, or the outcome (from :data:`OUTCOMES`) that drops it."""
        if not line.strip():
            return "blank_line"
        try:
            raw = self._decoder.decode(line)
        except msgspec.ValidationError:
            return "bad_type"
        except (msgspec.DecodeError, UnicodeDecodeError):
            return "malformed_json"
        created = _created_seconds(raw.created_utc)
        if raw.id is None or raw.score is None or created is None:
            return "bad_type"
        if not raw.url:
            return "missing_url"
        return self._check_policy(raw, created)

    def _check_policy(self, raw: RawSubmission, created: int) -> Submission | str:
        if raw.is_self:
            return "self_post"
        if (self._after is not None and created < self._after) or (
            self._before is not None and created >= self._before
        ):
            return "out_of_window"
        if raw.over_18 and not self._allow_nsfw:
            return "nsfw"
        try:
            url = normalise_url(raw.url or "")
        except RejectedUrl as rejected:
            return rejected.reason
        return self._check_destination(raw, url, created)

    def _check_destination(self, raw: RawSubmission, url: str, created: int) -> Submission | str:
        domain = domain_of(url)
        if host_matches(domain, REDDIT_DOMAINS):
            return "reddit_link"
        if host_matches(domain, self._blocked_domains):
            return "blocked_domain"
        if path_extension(url) in self._blocked_extensions:
            return "blocked_extension"
        return Submission(raw.id or "", url, domain, raw.score or 0, created, raw.subreddit or "")
