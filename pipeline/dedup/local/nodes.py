"""The graph's vertex of each document, as Spark computes it: ``xxhash64(is_reference, shard, id)``.

Which document of an LSH bucket is its hub depends on these values (the smallest), and with ``verify`` the
hub decides which candidate edges are checked: the in-process engine must use Spark's very numbers to reach
Spark's decision. Spark's ``xxhash64`` chains XXH64 over the columns from seed 42, a boolean hashed as the
4-byte int 1 or 0 and a string as its UTF-8 bytes; tests check it against Spark itself.
"""

from __future__ import annotations

import xxhash

SPARK_HASH_SEED = 42
MASK = (1 << 64) - 1


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def spark_xxhash64(is_reference: bool, shard: str, doc_id: str) -> int:
    """``F.xxhash64("is_reference", "shard", "id")`` of one row (none of them null)."""
    seed = xxhash.xxh64_intdigest(int(is_reference).to_bytes(4, "little"), SPARK_HASH_SEED)
    seed = xxhash.xxh64_intdigest(shard.encode("utf-8"), seed)
    return _signed(xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed))
