"""The pages index as the fetch stage's memory: which URLs were fetched, when, and how it went.

Every pages shard holds one ``FetchRecord`` per URL, and across all shards each URL appears
once. A run fetches only the harvested URLs the index does not hold, plus those a policy
makes due again: a transient failure (timeout, refused connection, 5xx, 429) after
``retry_failed_after_days``, any page after ``refetch_after_days``. A URL fetched again is
recorded in the new batch and its older row is then dropped from its old pages shard, so
the index keeps one row per URL; the old WARC record stays where it is (archives are
append-only).

URLs are held as 64-bit BLAKE2b keys in sorted arrays, so the index costs about 20 bytes
per URL in memory and a lookup is a binary search; a collision between two of 10⁸ URLs has
a probability below 10⁻³ and would make one of them look fetched.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.fetch.config import FetchConfig
from pipeline.shards import complete_shards, read_stats, read_table, write_shard

# Outcomes another attempt may turn into a page: the network or the server, not the URL, failed.
TRANSIENT_OUTCOMES = frozenset(
    {
        "timeout",
        "connection_error",
        "connection_refused",
        "dns_error",
        "host_unreachable",
        "internal_error",
        "http_429",
        "http_500",
        "http_502",
        "http_503",
        "http_504",
    }
)
MICROSECONDS_PER_DAY = 86_400 * 1_000_000
INDEX_COLUMNS = ["url", "outcome", "fetched_at"]


def url_keys(urls: Sequence[str]) -> np.ndarray:
    """64-bit keys of ``urls`` (BLAKE2b), as uint64."""
    digests = b"".join(hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest() for url in urls)
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64, copy=False)


def due_again(outcomes: pa.Array, fetched_at_us: np.ndarray, cfg: FetchConfig, now: datetime) -> np.ndarray:
    """Which index rows ``cfg``'s policy makes due again at ``now`` (``retry_failed_after_days``,
    ``refetch_after_days``; ``None``: never)."""
    age_days = (int(now.timestamp() * 1_000_000) - fetched_at_us) / MICROSECONDS_PER_DAY
    due = np.zeros(len(fetched_at_us), dtype=bool)
    if cfg.retry_failed_after_days is not None:
        transient = pc.is_in(outcomes, value_set=pa.array(sorted(TRANSIENT_OUTCOMES))).to_numpy(zero_copy_only=False)
        due |= transient & (age_days >= cfg.retry_failed_after_days)
    if cfg.refetch_after_days is not None:
        due |= age_days >= cfg.refetch_after_days
    return due


@dataclasses.dataclass(slots=True)
class PagesIndex:
    """Every row of every complete pages shard, as sorted keys; ``shard_of`` indexes ``shards``."""

    shards: list[Path]
    keys: np.ndarray  # uint64, sorted
    shard_of: np.ndarray  # int32
    fetched_at_us: np.ndarray  # int64
    due: np.ndarray  # bool

    @classmethod
    def load(cls, pages_dir: Path, cfg: FetchConfig, now: datetime) -> PagesIndex:
        shards = complete_shards(pages_dir) if pages_dir.is_dir() else []
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for position, shard in enumerate(shards):
            table = read_table(shard, columns=INDEX_COLUMNS)
            fetched = table["fetched_at"].cast(pa.int64()).to_numpy(zero_copy_only=False)
            keys = url_keys(table["url"].to_pylist())
            due = due_again(table["outcome"], fetched, cfg, now)
            parts.append((keys, np.full(len(keys), position, dtype=np.int32), fetched, due))
        if not parts:
            empty = np.empty(0, dtype=np.uint64)
            return cls(shards, empty, np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, bool))
        keys, shard_of, fetched, due = (np.concatenate(column) for column in zip(*parts, strict=True))
        order = np.argsort(keys, kind="stable")
        return cls(shards, keys[order], shard_of[order], fetched[order], due[order])

    def __len__(self) -> int:
        return len(self.keys)

    def settled(self, keys: np.ndarray) -> np.ndarray:
        """Which of ``keys`` the index holds and that are not due again (a URL recorded twice counts once)."""
        settled_keys = self.keys[~self.due]
        positions = np.searchsorted(settled_keys, keys)
        found = positions < len(settled_keys)
        found[found] = settled_keys[positions[found]] == keys[found]
        return found

    def superseded(self) -> dict[Path, np.ndarray]:
        """Per pages shard, the keys of its rows a later fetch of the same URL replaced (after a refetch, or a
        run killed between writing the new row and dropping the old one)."""
        order = np.lexsort((self.fetched_at_us, self.keys))  # by key, then oldest first
        keys = self.keys[order]
        older = np.zeros(len(keys), dtype=bool)
        older[:-1] = keys[:-1] == keys[1:]  # a later row with the same key follows
        stale = order[older]
        by_shard: dict[Path, np.ndarray] = {}
        for position in np.unique(self.shard_of[stale]):
            by_shard[self.shards[position]] = self.keys[stale[self.shard_of[stale] == position]]
        return by_shard


def drop_superseded(index: PagesIndex) -> int:
    """Rewrite each pages shard holding superseded rows without them; returns how many rows were dropped."""
    dropped = 0
    for shard, stale_keys in index.superseded().items():
        table = read_table(shard)
        stale = np.isin(url_keys(table["url"].to_pylist()), stale_keys)
        kept = table.filter(pa.array(~stale))
        key = (read_stats(shard) or {}).get("fingerprint", "")
        write_shard(kept, shard, shard_fingerprint=key, extra_stats=pages_stats(kept))
        dropped += int(stale.sum())
    return dropped


def pages_stats(table: pa.Table) -> dict[str, object]:
    """A pages shard's stats beyond rows and bytes: its outcomes and the bytes of the pages it holds."""
    outcomes = Counter(table["outcome"].to_pylist())
    fetched_bytes = int(pc.sum(table["bytes"]).as_py() or 0)
    return {"outcomes": dict(sorted(outcomes.items())), "fetched_bytes": fetched_bytes}


def index_outcomes(pages_dir: Path) -> tuple[Counter[str], int, int]:
    """(outcomes, URLs, fetched bytes) over every complete pages shard, from their stats."""
    outcomes: Counter[str] = Counter()
    fetched_bytes = 0
    for shard in complete_shards(pages_dir) if pages_dir.is_dir() else []:
        stats = read_stats(shard) or {}
        outcomes.update(stats.get("outcomes", {}))
        fetched_bytes += stats.get("fetched_bytes", 0)
    return outcomes, sum(outcomes.values()), fetched_bytes
