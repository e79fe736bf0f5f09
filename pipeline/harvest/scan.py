"""Phase 1 of the harvest: stream one source, keep the links that pass, spill them by URL hash.

Each source gets its own scan directory with one Parquet file per URL-hash bucket and a
``scan.json`` marker holding the outcome counts. The directory is built under a
temporary name and renamed into place when complete, so a killed scan leaves nothing a
rerun would trust, and a finished one is never redone while its input and the
scan settings are unchanged. Adding a new month re-scans only that month.
"""

from __future__ import annotations

import dataclasses
import shutil
import zlib
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.dumps import CorruptDumpError
from pipeline.harvest.submissions import Submission, SubmissionClassifier
from pipeline.progress import Advance, ProgressFactory, no_progress
from pipeline.shards import atomic_write_json, fingerprint, read_json

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
SPILL_FLUSH_ROWS = 65_536
MARKER = "scan.json"


class SubmissionSource(Protocol):
    """Where submissions come from: a dump file, or the Reddit API (see ``reddit_api``)."""

    name: str

    def identity(self) -> dict[str, Any]: ...

    def size(self) -> int | None: ...

    def lines(self, advance: Advance = ...) -> Any: ...


@dataclasses.dataclass(slots=True)
class ScanResult:
    """What scanning one source produced: outcome counts and where its buckets are."""

    source: str
    directory: Path
    fingerprint: str
    lines: int
    outcomes: dict[str, int]
    corrupt: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "fingerprint": self.fingerprint,
            "lines": self.lines,
            "outcomes": self.outcomes,
            "corrupt": self.corrupt,
        }


def bucket_of(url: str, n_buckets: int) -> int:
    """Stable URL-hash partition (CRC-32: the same in every process and Python version)."""
    return zlib.crc32(url.encode("utf-8")) % n_buckets


def bucket_file(directory: Path, bucket: int) -> Path:
    return directory / f"bucket-{bucket:05d}.parquet"


class _BucketSpill:
    """Buffers kept submissions per bucket and appends them to per-bucket Parquet files."""

    def __init__(self, directory: Path, n_buckets: int) -> None:
        self._directory = directory
        self._n_buckets = n_buckets
        self._buffers: dict[int, list[Submission]] = {}
        self._writers: dict[int, pq.ParquetWriter] = {}
        self._buffered = 0

    def add(self, submission: Submission) -> None:
        bucket = bucket_of(submission.url, self._n_buckets)
        self._buffers.setdefault(bucket, []).append(submission)
        self._buffered += 1
        if self._buffered >= SPILL_FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        for bucket, rows in self._buffers.items():
            if bucket not in self._writers:
                self._writers[bucket] = pq.ParquetWriter(
                    bucket_file(self._directory, bucket), SPILL_SCHEMA, compression="zstd", compression_level=1
                )
            columns = [[getattr(row, name) for row in rows] for name in SPILL_SCHEMA.names]
            self._writers[bucket].write_table(pa.Table.from_arrays(columns, schema=SPILL_SCHEMA))
        self._buffers.clear()
        self._buffered = 0

    def close(self) -> None:
        self.flush()
        for writer in self._writers.values():
            writer.close()


def scan_fingerprint(source: SubmissionSource, cfg: HarvestConfig) -> str:
    return fingerprint(source.identity(), cfg.scan_identity())


def completed_scan(directory: Path, expected_fingerprint: str) -> ScanResult | None:
    """The result of an earlier, complete scan with the same fingerprint, if there is one."""
    marker = read_json(directory / MARKER)
    if not isinstance(marker, dict) or marker.get("fingerprint") != expected_fingerprint:
        return None
    return ScanResult(
        marker["source"], directory, marker["fingerprint"], marker["lines"], marker["outcomes"], marker["corrupt"]
    )


def _classify_all(
    source: SubmissionSource, cfg: HarvestConfig, spill: _BucketSpill, advance: Advance
) -> tuple[int, Counter[str], str | None]:
    classify = SubmissionClassifier(cfg).classify
    outcomes: Counter[str] = Counter()
    lines, corrupt = 0, None
    try:
        for lines, line in enumerate(source.lines(advance), 1):
            result = classify(line)
            if type(result) is str:
                outcomes[result] += 1
            else:
                outcomes["kept"] += 1
                spill.add(result)  # type: ignore[arg-type]
    except CorruptDumpError as error:
        if not cfg.skip_corrupt:
            raise
        corrupt = str(error)
    return lines, outcomes, corrupt


def scan_source(
    source: SubmissionSource, scan_root: Path, cfg: HarvestConfig, progress: ProgressFactory = no_progress
) -> ScanResult:
    """Scan ``source`` into ``scan_root/<source name>/`` unless an identical scan is already there."""
    directory = scan_root / source.name
    expected = scan_fingerprint(source, cfg)
    if (previous := completed_scan(directory, expected)) is not None:
        return previous
    partial = scan_root / f".{source.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    spill = _BucketSpill(partial, cfg.n_buckets)
    try:
        with progress(f"harvest {source.name}", source.size()) as advance:
            lines, outcomes, corrupt = _classify_all(source, cfg, spill, advance)
    finally:
        spill.close()
    result = ScanResult(source.name, directory, expected, lines, dict(sorted(outcomes.items())), corrupt)
    atomic_write_json(partial / MARKER, result.as_json())
    shutil.rmtree(directory, ignore_errors=True)
    partial.rename(directory)
    return result
