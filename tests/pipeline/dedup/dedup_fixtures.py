"""Documents with planted duplicates: exact copies, edits of known similarity, chains, other scripts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.records import Document, document_id, to_table
from pipeline.shards import write_shard

BASE_TIME = datetime(2019, 1, 1, tzinfo=UTC)


def random_words(rng: random.Random, count: int) -> list[str]:
    """Words from a large made-up vocabulary, so unrelated texts share almost no 5-gram."""
    return ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(count)]


def edited(words: list[str], rng: random.Random, fraction: float, offset: int | None = None) -> list[str]:
    """``words`` with ``fraction`` of positions replaced by fresh words, evenly spaced from ``offset``."""
    result = list(words)
    step = max(int(1 / fraction), 1) if fraction > 0 else len(words) + 1
    for position in range(step // 2 if offset is None else offset, len(result), step):
        result[position] = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7))
    return result


def random_ideographs(rng: random.Random, count: int) -> list[str]:
    """Chinese-looking text: every character is a word of its own to the shingler."""
    return [chr(0x4E00 + rng.randrange(20_000)) for _ in range(count)]


def true_jaccard(first: str, second: str) -> float:
    from pipeline.dedup.minhash import shingles

    a, b = set(shingles(first)), set(shingles(second))
    return len(a & b) / len(a | b)


def make_document(name: str, text: str, karma: int = 10, hours: int = 0) -> Document:
    url = f"https://example.org/{name}"
    return Document(
        id=document_id(url),
        url=url,
        domain="example.org",
        title=name,
        text=text,
        karma=karma,
        fetched_at=BASE_TIME + timedelta(days=30),
        first_seen=BASE_TIME + timedelta(hours=hours),
    )


def write_docs(directory: Path, shards: list[list[Document]]) -> list[Path]:
    """Completed Document shards ``part-00000.parquet``... as the extract stage leaves them."""
    paths = []
    for index, documents in enumerate(shards):
        path = directory / f"part-{index:05d}.parquet"
        write_shard(to_table(documents, Document), path, shard_fingerprint="test")
        paths.append(path)
    return paths
