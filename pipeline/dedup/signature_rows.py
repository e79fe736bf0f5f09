"""The rows of a signatures shard, whichever engine computes them: schema and the sketching of a batch.

Spark's Python workers and the in-process engine run the same ``sketch_batches`` and write with the
same fixed row groups (``pipeline.fixed_row_groups``), so a signatures shard has the same bytes
from either: switching engines recomputes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from pipeline.dedup.minhash import Permutations, sketch

SIGNATURE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("karma", pa.int64(), nullable=False),
        pa.field("seen", pa.timestamp("us", tz="UTC")),
        pa.field("text_hash", pa.string(), nullable=False),
        pa.field("n_shingles", pa.int64(), nullable=False),
        pa.field("signature", pa.list_(pa.int32()), nullable=False),  # uint32 values, bit-cast to int32
    ]
)
ROW_GROUP_ROWS = 16_384  # ~9 MB of signatures at 128 permutations: what one writing task buffers at most


def sketch_batches(
    batches: Iterator[pa.RecordBatch], num_perm: int, seed: int, shingle_size: int
) -> Iterator[pa.RecordBatch]:
    """(id, karma, seen, text, shard) batches in, signature rows (and their shard) out."""
    permutations = Permutations.make(num_perm, seed)
    for batch in batches:
        sketches = [sketch(text, permutations, shingle_size) for text in batch.column("text").to_pylist()]
        matrix = np.stack([item.signature for item in sketches]) if sketches else np.empty((0, num_perm), np.uint32)
        offsets = pa.array(np.arange(0, (len(sketches) + 1) * num_perm, num_perm, dtype=np.int32))
        yield pa.RecordBatch.from_pydict(
            {
                "id": batch.column("id"),
                "karma": batch.column("karma"),
                "seen": batch.column("seen"),
                "text_hash": pa.array([item.text_hash for item in sketches], pa.string()),
                "n_shingles": pa.array([item.n_shingles for item in sketches], pa.int64()),
                "signature": pa.ListArray.from_arrays(offsets, pa.array(matrix.view(np.int32).ravel())),
                "shard": batch.column("shard"),
            }
        )
