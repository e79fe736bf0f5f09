"""Classify blocks of NDJSON lines on every core while the main process decompresses.

A zstd stream can only be decompressed in order, but decoding and checking its lines
is independent per line, so the main process reads blocks of whole lines and classifies
them together with ``workers - 1`` worker processes. Blocks reach the workers through
shared-memory slots (pickling megabytes through a pipe costs as much as decompressing
them); results come back in block order with the kept submissions already grouped by
URL-hash bucket, as one Arrow record batch in IPC form (it crosses the process boundary
far faster than pickled tuples), which the main process appends to the spill. At most
two blocks per worker wait in shared memory, which bounds memory. Until the first worker has
started (spawned workers spend ~0.4 s importing), the main process classifies every
block itself.

Workers are started with ``spawn``, which is safe under the threads Prefect and Arrow
run in the main process (``fork`` is not).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import multiprocessing
import sys
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from itertools import chain
from typing import Any

import pyarrow as pa

from pipeline.harvest.columns import classify_columns, native_columns, struct_columns
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.dumps import CHUNK_BYTES, ZSTD_WRITE_SIZE, Block, block_parts, split_lines
from pipeline.harvest.submissions import SPILL_SCHEMA, Submission, SubmissionClassifier, bucket_of
from pipeline.settings import resolve_workers

_SPILL_ROW = pa.struct(list(SPILL_SCHEMA))
# (lines, outcome counts, kept submissions, {bucket: its rows}): the rows come bucket after bucket, in that order.
ChunkResult = tuple[int, dict[str, int], pa.RecordBatch, dict[int, int]]
# What a worker sends back: the kept submissions as an Arrow IPC message.
_Packed = tuple[int, dict[str, int], bytes, dict[int, int]]

# A block is CHUNK_BYTES and at most the rest of one decompressed piece: every block fits a slot.
SLOT_BYTES = CHUNK_BYTES + 2 * ZSTD_WRITE_SIZE
# glibc's mallopt parameters, and the size above which freed buffers go back to the kernel (its largest allowed).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES = 32 << 20
# Below this many compressed bytes a source is classified in-process: starting workers costs more.
PARALLEL_MIN_BYTES = 16 << 20

_worker_classifier: SubmissionClassifier | None = None
_worker_buckets = 1
_worker_slots: list[Any] = []


@functools.cache
def reuse_freed_memory() -> None:
    """Have glibc keep freed multi-megabyte buffers for reuse instead of unmapping them (once per process).

    By default every decompressed piece and block is a fresh ``mmap`` that is unmapped when
    freed, so each byte of the dump costs a page fault and a page clear: ~0.5 CPU s per GB,
    as much as the decompression itself. Above a fixed threshold glibc reuses heap memory
    instead; memory stays bounded by what is live at once. A no-op off glibc.
    """
    library = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    if not library:
        return
    try:
        mallopt = ctypes.CDLL(library).mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    mallopt(_M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD_BYTES)


def classify_chunk(chunk: bytes | Block, classifier: SubmissionClassifier, n_buckets: int) -> ChunkResult:
    """Outcome counts of every line in ``chunk`` and its kept submissions, grouped by bucket."""
    decoded = None
    if (columns := native_columns(chunk)) is None and (decoded := classifier.decode_block(bytes(chunk))) is not None:
        columns = struct_columns(decoded)
    if columns is not None:
        return len(columns["id"]), *classify_columns(columns, classifier, n_buckets)
    if decoded is not None:
        results = list(map(classifier.check, decoded))
    else:
        results = list(map(classifier.classify, split_lines(chunk)))
    outcomes = Counter([result for result in results if type(result) is str])
    kept: dict[int, list[Submission]] = {}
    for submission in [result for result in results if type(result) is not str]:
        kept.setdefault(bucket_of(submission.url, n_buckets), []).append(submission)  # type: ignore[union-attr]
    if kept:
        outcomes["kept"] = len(results) - outcomes.total()
    rows = list(chain.from_iterable(kept.values()))
    counts = {bucket: len(bucket_rows) for bucket, bucket_rows in kept.items()}
    return len(results), dict(outcomes), spill_batch(rows), counts


def spill_batch(rows: list[Submission]) -> pa.RecordBatch:
    """Rows as a record batch of :data:`SPILL_SCHEMA`: one C conversion, no per-column Python lists."""
    return pa.RecordBatch.from_struct_array(pa.array(rows, type=_SPILL_ROW))


def by_bucket(batch: pa.RecordBatch, counts: dict[int, int]) -> dict[int, pa.RecordBatch]:
    """Each bucket's rows of ``batch``, whose rows come bucket after bucket as ``counts`` says (zero-copy)."""
    slices, start = {}, 0
    for bucket, rows in counts.items():
        slices[bucket] = batch.slice(start, rows)
        start += rows
    return slices


def _start_worker(cfg: HarvestConfig, slots: list[Any]) -> None:
    global _worker_classifier, _worker_buckets, _worker_slots
    reuse_freed_memory()
    _worker_classifier = SubmissionClassifier(cfg)
    _worker_buckets = cfg.n_buckets
    _worker_slots = slots
    pa.scalar(0)  # pyarrow imports pandas on its first conversion of a Python value (~0.2 s): now, not in a block


def _worker_started() -> None:
    """Nothing: its result says that a worker has finished starting."""


def _classify_bytes(chunk: bytes) -> _Packed:
    assert _worker_classifier is not None, "worker not initialised"
    lines, outcomes, batch, counts = classify_chunk(chunk, _worker_classifier, _worker_buckets)
    return lines, outcomes, batch.serialize().to_pybytes(), counts


def _classify_slot(slot: int, length: int) -> _Packed:
    return _classify_bytes(ctypes.string_at(ctypes.addressof(_worker_slots[slot]), length))


def _copy_into(slot: Any, chunk: bytes | Block) -> None:
    """``chunk``'s bytes to the start of a shared-memory slot, part after part."""
    target, start = memoryview(slot).cast("B"), 0
    for part in block_parts(chunk):
        target[start : start + len(part)] = part
        start += len(part)


def _unpack(packed: _Packed) -> ChunkResult:
    lines, outcomes, encoded, counts = packed
    return lines, outcomes, pa.ipc.read_record_batch(pa.py_buffer(encoded), SPILL_SCHEMA), counts


class ChunkClassifier:
    """Classifies blocks in order on worker processes that live as long as the harvest run.

    ``workers`` counts the processes that classify, this one included: it decompresses too, but
    has time left over, and one worker per core beside it would put three processes on two
    cores, each paying its start-up.
    The pool starts on first use, so a rerun whose scans are all complete starts none.
    Until a worker has started (spawned workers spend their first ~0.4 s importing), this
    process classifies every block itself and yields each result at once. Then blocks
    travel to workers through shared-memory slots: pickling megabytes through a pipe costs
    as much as decompressing them. While the oldest block is still with the workers, this
    process classifies the next block itself instead of waiting.
    """

    def __init__(self, cfg: HarvestConfig) -> None:
        self._cfg = cfg
        self._workers = resolve_workers(cfg.workers)
        self._executor: ProcessPoolExecutor | None = None
        self._slots: list[Any] = []
        self._free: list[int] = []
        # Blocks in flight, in order: a worker's future with its slot, or a result this process computed itself.
        self._pending: deque[tuple[Future[_Packed] | ChunkResult, int | None]] = deque()
        self._local: SubmissionClassifier | None = None
        self._started: list[Future[None]] = []

    def classify(self, chunks: Iterable[bytes | Block], source_bytes: int | None = None) -> Iterator[ChunkResult]:
        """Results for ``chunks`` in order; in-process for one worker or a small source."""
        small = source_bytes is not None and source_bytes < PARALLEL_MIN_BYTES and self._cfg.workers is None
        reuse_freed_memory()
        if self._workers == 1 or small:
            classifier = self._local_classifier()
            yield from (classify_chunk(chunk, classifier, self._cfg.n_buckets) for chunk in chunks)
            return
        self._start()
        try:
            try:
                for chunk in chunks:
                    yield from self._submit(chunk)
            except Exception:  # the source failed (a truncated dump): what it delivered still counts
                while self._pending:
                    yield self._finish_oldest()
                raise
            while self._pending:
                yield self._finish_oldest()
        finally:
            self._abandon_pending()

    def _start(self) -> None:
        if self._executor is None:
            context = multiprocessing.get_context("spawn")
            self._slots = [context.RawArray(ctypes.c_uint8, SLOT_BYTES) for _ in range(2 * (self._workers - 1))]
            self._free = list(range(len(self._slots)))
            self._executor = ProcessPoolExecutor(
                self._workers - 1, mp_context=context, initializer=_start_worker, initargs=(self._cfg, self._slots)
            )
            # One no-op per worker: submitting it spawns the worker now, and its result says the worker has started.
            self._started = [self._executor.submit(_worker_started) for _ in range(self._workers - 1)]

    def _workers_started(self) -> bool:
        """Whether a worker has finished starting (or failed to: then the next submit says why)."""
        return any(future.done() for future in self._started)

    def _held_here(self) -> int:
        """How many results this process classified itself wait behind an older block still with a worker."""
        return sum(not isinstance(oldest, Future) for oldest, _ in self._pending)

    def _local_classifier(self) -> SubmissionClassifier:
        self._local = self._local or SubmissionClassifier(self._cfg)
        return self._local

    def _submit(self, chunk: bytes | Block) -> Iterator[ChunkResult]:
        """Until a worker has started, classify ``chunk`` here and yield its result at once. Then queue it, first
        yielding the oldest results while no slot is free; while the oldest block is still with the workers (they
        are slower than this process reads), this process classifies ``chunk`` itself rather than wait, holding at
        most as many such results as there are slots."""
        assert self._executor is not None
        if not self._pending and not self._workers_started():
            yield classify_chunk(chunk, self._local_classifier(), self._cfg.n_buckets)
            return
        fits = len(chunk) <= SLOT_BYTES
        while self._pending:
            held = self._held_here()
            if len(self._pending) - held < len(self._slots) and (self._free or not fits):
                break
            oldest, _ = self._pending[0]
            if isinstance(oldest, Future) and not oldest.done() and held < len(self._slots):
                self._pending.append((classify_chunk(chunk, self._local_classifier(), self._cfg.n_buckets), None))
                return
            yield self._finish_oldest()
        if not fits:  # a rare giant block goes through the pipe
            self._pending.append((self._executor.submit(_classify_bytes, bytes(chunk)), None))
            return
        slot = self._free.pop()
        _copy_into(self._slots[slot], chunk)
        self._pending.append((self._executor.submit(_classify_slot, slot, len(chunk)), slot))

    def _finish_oldest(self) -> ChunkResult:
        oldest, slot = self._pending.popleft()
        if not isinstance(oldest, Future):
            return oldest
        try:
            return _unpack(oldest.result())
        finally:
            if slot is not None:
                self._free.append(slot)

    def _abandon_pending(self) -> None:
        """Settle the blocks of an interrupted source so their slots can be reused."""
        while self._pending:
            oldest, slot = self._pending.popleft()
            if not isinstance(oldest, Future):
                continue
            oldest.cancel()
            wait([oldest])
            if slot is not None:
                self._free.append(slot)

    def close(self) -> None:
        """Stop the workers without waiting for them to exit (~0.15 s each, unloading their modules): nothing they
        hold is needed any more, and the executor joins them in the background."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ChunkClassifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
