"""The pages index as the fetch stage's memory: which URLs were fetched, when, and how it went.

Every pages shard holds one ``FetchRecord`` per URL, and across all shards each URL appears
once. A run fetches only the harvested URLs the index does not hold, plus those a policy
makes due again: a transient failure (timeout, refused connection, 5xx, 429) after
``retry_failed_after_days``, any page after ``refetch_after_days``. A URL fetched again is
recorded in the new batch and its older row is then dropped from its old pages shard, so
the index keeps one row per URL; the old WARC record stays where it is (archives are
append-only). A URL's karma grows when it is posted again after its fetch: ``refresh_karma``
carries the harvest's newest karma into its row without fetching the page again.

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
from pipeline.records import PAGES_CONTENT_SHA256, pages_content_sha256
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
INDEX_COLUMNS = ["url", "outcome", "fetched_at", "karma"]


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
    karma: np.ndarray  # int64, as the row holds it

    @classmethod
    def load(cls, pages_dir: Path, cfg: FetchConfig, now: datetime) -> PagesIndex:
        shards = complete_shards(pages_dir) if pages_dir.is_dir() else []
        parts: list[tuple[np.ndarray, ...]] = []
        for position, shard in enumerate(shards):
            table = read_table(shard, columns=INDEX_COLUMNS)
            fetched = table["fetched_at"].cast(pa.int64()).to_numpy(zero_copy_only=False)
            keys = url_keys(table["url"].to_pylist())
            due = due_again(table["outcome"], fetched, cfg, now)
            karma = table["karma"].to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
            parts.append((keys, np.full(len(keys), position, dtype=np.int32), fetched, due, karma))
        if not parts:
            empty = np.empty(0, dtype=np.uint64)
            return cls(
                shards, empty, np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, bool), np.empty(0, np.int64)
            )
        keys, shard_of, fetched, due, karma = (np.concatenate(column) for column in zip(*parts, strict=True))
        order = np.argsort(keys, kind="stable")
        return cls(shards, keys[order], shard_of[order], fetched[order], due[order], karma[order])

    def __len__(self) -> int:
        return len(self.keys)

    def settled(self, keys: np.ndarray) -> np.ndarray:
        """Which of ``keys`` the index holds and that are not due again (a URL recorded twice counts once)."""
        return _positions_of(self.keys[~self.due], keys)[1]

    def stale_karma(self, keys: np.ndarray, karma: np.ndarray) -> dict[int, dict[int, int]]:
        """For harvested URLs (``keys``) with their newest ``karma``: the index rows holding another karma, as
        pages shard position -> URL key -> newest karma (each URL once in the index: ``drop_superseded`` ran)."""
        positions, found = _positions_of(self.keys, keys)
        changed = np.zeros(len(keys), dtype=bool)
        changed[found] = self.karma[positions[found]] != karma[found]
        stale: dict[int, dict[int, int]] = {}
        for key, position, value in zip(keys[changed], positions[changed], karma[changed], strict=True):
            stale.setdefault(int(self.shard_of[position]), {})[int(key)] = int(value)
        return stale

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


def _positions_of(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``keys`` is (or would go) in ``sorted_keys``, and whether it is there."""
    positions = np.searchsorted(sorted_keys, keys)
    found = positions < len(sorted_keys)
    found[found] = sorted_keys[positions[found]] == keys[found]
    return positions, found


def refresh_karma(index: PagesIndex, stale: dict[int, dict[int, int]]) -> int:
    """Write each URL's newest harvested karma into its pages row (``stale``: from ``PagesIndex.stale_karma``), no
    page fetched again; returns the rows changed.

    A URL posted again after it was fetched gains karma in the harvest; extract takes it from the pages row into
    the URL's Document. Each pages shard is rewritten at most once, atomically, so a killed run's rerun finishes
    the rest."""
    for position, newest in sorted(stale.items()):
        shard = index.shards[position]
        table = read_table(shard)
        karma = [
            newest.get(int(key), old)
            for key, old in zip(url_keys(table["url"].to_pylist()), table["karma"].to_pylist(), strict=True)
        ]
        column = table.schema.get_field_index("karma")
        table = table.set_column(column, table.schema.field(column), pa.array(karma, type=pa.int64()))
        batch_key = (read_stats(shard) or {}).get("fingerprint", "")
        write_shard(table, shard, shard_fingerprint=batch_key, extra_stats=pages_stats(table))
    return sum(len(newest) for newest in stale.values())


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
    """A pages shard's stats beyond rows and bytes: its outcomes, the bytes of the pages it holds, and the hash
    of its rows karma aside (``pages_content_sha256``: what extract keys its work by)."""
    outcomes = Counter(table["outcome"].to_pylist())
    fetched_bytes = int(pc.sum(table["bytes"]).as_py() or 0)
    return {
        "outcomes": dict(sorted(outcomes.items())),
        "fetched_bytes": fetched_bytes,
        PAGES_CONTENT_SHA256: pages_content_sha256(table),
    }


def index_outcomes(pages_dir: Path) -> tuple[Counter[str], int, int]:
    """(outcomes, URLs, fetched bytes) over every complete pages shard, from their stats."""
    outcomes: Counter[str] = Counter()
    fetched_bytes = 0
    for shard in complete_shards(pages_dir) if pages_dir.is_dir() else []:
        stats = read_stats(shard) or {}
        outcomes.update(stats.get("outcomes", {}))
        fetched_bytes += stats.get("fetched_bytes", 0)
    return outcomes, sum(outcomes.values()), fetched_bytes
