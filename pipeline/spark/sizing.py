"""How much memory a local Spark session gets: sized to the job's input, not a fixed 2 GB.

Under a ``local`` master the executors run inside the driver's JVM, so the JVM's heap is the whole job's
memory. Measured on 6,000 web-page-sized documents (``bench/dedup.py --part memory``), a fixed ``-Xmx2g``
under G1 let the JVM grow to 1.2 GB resident although the job needs far less: G1 expands towards the maximum
heap rather than collecting, and keeps its own bookkeeping beside it. The serial collector on a heap that
starts small, sized from the input, held it near 0.7 GB. Spark refuses a heap under 450 MiB (its 300 MiB
reserve x 1.5), hence the floor. The rest of the tree does not grow with the input: one Python worker per
core holds one Arrow batch of documents, and a Parquet read holds one columnar batch per task (both capped
here).

A cluster master keeps the configured sizes: its executors have their own memory, set by their workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.shards import ShardReadError

AUTO = "auto"
MIB = 2**20
MIN_HEAP_MB = 512  # Spark needs >= 450 MiB of heap (INVALID_DRIVER_MEMORY.SYSTEM_MEMORY below it)
MAX_HEAP_MB = 8192
HEAP_PER_INPUT_BYTE = 0.5  # heap beyond the floor per byte of uncompressed input: spills take the rest
CLUSTER_DRIVER_MEMORY = "2g"  # auto under a cluster master: the driver only plans there
READER_BATCH_ROWS = 512  # Parquet rows per columnar batch a task holds on the heap (Spark's default: 4096)
ARROW_BATCH_BYTES = 64 * MIB  # at most this much text in one Arrow batch to a Python worker (default: 2 GiB)
# the serial collector, starting small and growing the heap only when under 10% is free after a collection (G1,
# the default, grows it towards the maximum): the heap holds what the job needs, not what it is allowed
LOCAL_JAVA_OPTIONS = "-XX:+UseSerialGC -Xms64m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30"


def uncompressed_bytes(shards: Iterable[Path], column: str | None = None) -> int:
    """The bytes of ``shards`` once decompressed (only ``column``'s, if given), from their Parquet footers alone.

    Parquet counts its pages before compression but after encoding: distinct texts count their bytes (and a 4-byte
    length each), while a text repeated within a row group is dictionary-encoded and counts about once."""
    total = 0
    for shard in shards:
        try:
            metadata = pq.read_metadata(shard)
        except (OSError, pa.ArrowException) as error:
            message = f"{shard}: no readable Parquet footer ({error}); delete it and rerun the stage that wrote it"
            raise ShardReadError(message) from error
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for index in range(row_group.num_columns):
                chunk = row_group.column(index)
                if column is None or chunk.path_in_schema == column:
                    total += chunk.total_uncompressed_size
    return total


def physical_memory_mb() -> int:
    """This machine's memory (Linux, macOS); the heap cap when it cannot be read."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // MIB
    except (ValueError, OSError, AttributeError):
        return 2 * MAX_HEAP_MB


def local_heap_mb(input_bytes: int) -> int:
    """The heap of a local session for ``input_bytes`` of uncompressed input: the floor plus half the input, at
    most 8 GiB and at most half the machine's memory (never under the floor)."""
    wanted = MIN_HEAP_MB + int(HEAP_PER_INPUT_BYTE * max(input_bytes, 0) / MIB)
    return max(MIN_HEAP_MB, min(wanted, MAX_HEAP_MB, physical_memory_mb() // 2))


def driver_memory(setting: str, is_local: bool, input_bytes: int | None) -> str:
    """The ``spark.driver.memory`` for a ``driver_memory`` setting: an explicit size as given; ``auto`` sized to the
    input under a local master (the floor when the input is unknown), the cluster default otherwise."""
    if setting != AUTO:
        return setting
    if not is_local:
        return CLUSTER_DRIVER_MEMORY
    return f"{local_heap_mb(input_bytes or 0)}m"


def local_memory_conf() -> dict[str, str]:
    """Spark settings that bound what a local session holds besides its heap's contents (a user's ``conf`` wins)."""
    return {
        "spark.driver.extraJavaOptions": LOCAL_JAVA_OPTIONS,
        "spark.sql.parquet.columnarReaderBatchSize": str(READER_BATCH_ROWS),
        "spark.sql.execution.arrow.maxBytesPerBatch": str(ARROW_BATCH_BYTES),
    }
