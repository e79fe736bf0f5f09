"""Decode one NDJSON submission line and decide whether its link is kept, and if not, why.

Only the handful of fields the harvest needs are decoded: msgspec skips the other ~50
fields of a Pushshift record (preview images, flair, awards) without building them,
which is most of what makes the stage faster than ``json.loads`` on real dumps. This
runs once per line of dumps with tens of millions of lines, so the rules are checked
in one flat method with dictionary lookups rather than a chain of small filters.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

import msgspec
import numpy as np
import pyarrow as pa

from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.link_rules import REDDIT_DOMAINS
from pipeline.urls import RejectedUrl, host_rule, normalise_with_host, path_extension


class RawSubmission(msgspec.Struct, gc=False):
    """The fields of a Pushshift / Reddit API submission object that the harvest reads."""

    id: str | None = None
    url: str | None = None
    score: int | None = None
    created_utc: int | float | str | None = None
    subreddit: str | None = None
    is_self: bool | None = None
    over_18: bool | None = None


# The kept submissions as the scan spills them: the fields of ``Submission``, in its order.
SPILL_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("url", pa.string()),
        ("domain", pa.string()),
        ("score", pa.int64()),
        ("created_utc", pa.int64()),
        ("subreddit", pa.string()),
    ]
)


def bucket_of(url: str, n_buckets: int) -> int:
    """Stable URL-hash partition (CRC-32: the same in every process and Python version)."""
    return zlib.crc32(url.encode("utf-8")) % n_buckets


class Submission(NamedTuple):
    """A submission whose outbound link passed every rule (a tuple: cheap to send between processes)."""

    id: str
    url: str
    domain: str
    score: int
    created_utc: int
    subreddit: str


# Bounds of the per-process memos of judged links and of host rules: ~10 MB for 100-character links.
LINK_MEMO_SIZE = 1 << 15
HOST_MEMO_SIZE = 1 << 14
NEWLINE = ord("\n")  # counted with NumPy: several times faster than bytes.count on megabyte blocks

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
        decoder = msgspec.json.Decoder(RawSubmission)
        self._decode, self._decode_lines = decoder.decode, decoder.decode_lines
        self.after = int(cfg.after.timestamp()) if cfg.after else None
        self.before = int(cfg.before.timestamp()) if cfg.before else None
        self._after = -(2**63) if self.after is None else self.after
        self._before = 2**63 if self.before is None else self.before
        self.allow_nsfw = cfg.allow_nsfw
        # Reddit's own hosts win over a user's blocklist entry for the same host.
        self._host_rules = {domain: "blocked_domain" for domain in cfg.all_blocked_domains}
        self._host_rules.update({domain: "reddit_link" for domain in REDDIT_DOMAINS})
        self.blocked_extensions = frozenset(cfg.blocked_extensions)
        self._links: dict[str, tuple[str, str] | str] = {}
        self._hosts: dict[str, str] = {}

    def decode_block(self, block: bytes) -> list[RawSubmission] | None:
        """Every line of ``block`` decoded in one call, or ``None`` if any line needs a look of its own.

        One call for a block is twice as fast as one per line. It is only trusted when it
        yields exactly one submission per line: a malformed line, a blank line or two
        objects on one line send the block down the line-by-line path, which counts them.
        """
        try:
            submissions = self._decode_lines(block)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
            return None
        lines = int(np.count_nonzero(np.frombuffer(block, np.uint8) == NEWLINE)) + (not block.endswith(b"\n"))
        return submissions if len(submissions) == lines else None

    def classify(self, line: bytes) -> Submission | str:
        """The kept :class:`Submission`, or the outcome (from :data:`OUTCOMES`) that drops it."""
        try:
            raw = self._decode(line)
        except msgspec.ValidationError:
            return "bad_type"
        except (msgspec.DecodeError, UnicodeDecodeError):
            return "malformed_json" if line.strip() else "blank_line"
        return self.check(raw)

    def check(self, raw: RawSubmission) -> Submission | str:
        """Apply the rules, in the order of :data:`OUTCOMES`, to one decoded submission."""
        created = raw.created_utc if type(raw.created_utc) is int else _created_seconds(raw.created_utc)
        if raw.id is None or raw.score is None or created is None:
            return "bad_type"
        if not raw.url:
            return "missing_url"
        if raw.is_self:
            return "self_post"
        if not self._after <= created < self._before:
            return "out_of_window"
        if raw.over_18 and not self.allow_nsfw:
            return "nsfw"
        link = self.link_outcome(raw.url)
        if type(link) is str:
            return link
        url, domain = link
        return Submission(raw.id, url, domain, raw.score, created, raw.subreddit or "")

    def link_outcome(self, raw_url: str) -> tuple[str, str] | str:
        """The normalised URL and domain of a link, or the outcome that drops it; remembered, since the same link
        is often submitted several times in a row (one article to several subreddits)."""
        link = self._links.get(raw_url)
        if link is None:
            if len(self._links) >= LINK_MEMO_SIZE:
                self._links.clear()
            self._links[raw_url] = link = self._link_outcome(raw_url)
        return link

    def _link_outcome(self, raw_url: str) -> tuple[str, str] | str:
        try:
            url, host = normalise_with_host(raw_url)
        except RejectedUrl as rejected:
            return rejected.reason
        rule = self.host_outcome(host)
        if rule:
            return rule
        if path_extension(url) in self.blocked_extensions:
            return "blocked_extension"
        return url, host.removeprefix("www.")

    def host_outcome(self, host: str) -> str:
        """The outcome a host rule gives ``host`` ('' for none), remembered: a dump's links share few hosts."""
        rule = self._hosts.get(host)
        if rule is None:
            if len(self._hosts) >= HOST_MEMO_SIZE:
                self._hosts.clear()
            rule = self._hosts[host] = host_rule(host, self._host_rules) or ""
        return rule
