"""Phase 1 of the harvest: stream one source, keep the links that pass, spill them by URL hash.

Each source gets its own scan directory with one Parquet file per URL-hash bucket and a
``scan.json`` marker holding the outcome counts. The directory is built under a
temporary name and renamed into place when complete, so a killed scan leaves nothing a
rerun would trust, and a finished one is never redone while its input and the
scan settings are unchanged. Adding a new month re-scans only that month.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.dumps import CorruptDumpError
from pipeline.harvest.parallel import ChunkClassifier, ChunkResult, by_bucket
from pipeline.harvest.submissions import SPILL_SCHEMA
from pipeline.progress import Advance, ProgressFactory, no_progress
from pipeline.shards import atomic_write_json, fingerprint, read_json

SPILL_FLUSH_ROWS = 65_536
MARKER = "scan.json"


class SubmissionSource(Protocol):
    """Where submissions come from: a dump file, or the Reddit API (see ``reddit_api``)."""

    name: str

    def identity(self) -> dict[str, Any]: ...

    def size(self) -> int | None: ...

    def chunks(self, advance: Advance = ...) -> Iterator[bytes]:
        """Blocks of whole NDJSON lines."""
        ...


@dataclasses.dataclass(slots=True)
class ScanResult:
    """What scanning one source produced: outcome counts and where its buckets are."""

    source: str
    directory: Path
    fingerprint: str
    lines: int
    outcomes: dict[str, int]
    corrupt: str | None = None
    settings: dict[str, Any] | None = (
        None  # the scan settings it was made with (None: a scan made before they were kept)
    )

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "fingerprint": self.fingerprint,
            "lines": self.lines,
            "outcomes": self.outcomes,
            "corrupt": self.corrupt,
            "settings": self.settings,
        }

    @classmethod
    def from_marker(cls, directory: Path, marker: dict[str, Any]) -> ScanResult:
        fields = ("source", "fingerprint", "lines", "outcomes", "corrupt")
        return cls(directory=directory, settings=marker.get("settings"), **{name: marker[name] for name in fields})


def bucket_file(directory: Path, bucket: int) -> Path:
    return directory / f"bucket-{bucket:05d}.parquet"


class _BucketSpill:
    """Buffers kept submissions per bucket and appends them to per-bucket Parquet files."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._buffers: dict[int, list[pa.RecordBatch]] = {}
        self._writers: dict[int, pq.ParquetWriter] = {}
        self._buffered = 0

    def add(self, kept: pa.RecordBatch, counts: dict[int, int]) -> None:
        """Buffer ``kept``, whose rows are grouped by bucket as ``counts`` says."""
        for bucket, rows in by_bucket(kept, counts).items():
            self._buffers.setdefault(bucket, []).append(rows)
        self._buffered += kept.num_rows
        if self._buffered >= SPILL_FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        for bucket, batches in self._buffers.items():
            if bucket not in self._writers:
                self._writers[bucket] = pq.ParquetWriter(
                    bucket_file(self._directory, bucket), SPILL_SCHEMA, compression="zstd", compression_level=1
                )
            # One contiguous chunk per flush, as a table built from whole columns: the same pages and bytes.
            self._writers[bucket].write_table(pa.Table.from_batches(batches, SPILL_SCHEMA).combine_chunks())
        self._buffers.clear()
        self._buffered = 0

    def close(self) -> None:
        self.flush()
        for writer in self._writers.values():
            writer.close()


def scan_fingerprint(source: SubmissionSource, cfg: HarvestConfig) -> str:
    return fingerprint(source.identity(), cfg.scan_identity())


def scan_settings(cfg: HarvestConfig) -> dict[str, Any]:
    """The scan settings as its marker records them (JSON: dates as text)."""
    return json.loads(json.dumps(cfg.scan_identity(), sort_keys=True, default=str))


def completed_scan(directory: Path, expected_fingerprint: str) -> ScanResult | None:
    """The result of an earlier, complete scan with the same fingerprint, if there is one."""
    marker = read_json(directory / MARKER)
    if not isinstance(marker, dict) or marker.get("fingerprint") != expected_fingerprint:
        return None
    return ScanResult.from_marker(directory, marker)


def earlier_scans(scan_root: Path, listed: set[str], cfg: HarvestConfig) -> list[ScanResult]:
    """The complete scans an earlier run left for sources not listed now: a harvest folder keeps what it has
    harvested, so a new month adds to it. A scan made with other settings cannot be mixed in: the error says so."""
    scans = []
    wanted = scan_settings(cfg)
    for marker_path in sorted(scan_root.glob(f"*/{MARKER}")) if scan_root.is_dir() else []:
        directory = marker_path.parent
        marker = read_json(marker_path)
        if directory.name in listed or directory.name.startswith(".") or not isinstance(marker, dict):
            continue
        scan = ScanResult.from_marker(directory, marker)
        if scan.settings is not None and scan.settings != wanted:
            changed = sorted(key for key in wanted if scan.settings.get(key) != wanted[key])
            raise ValueError(
                f"{directory} was harvested with other settings ({', '.join(changed)}); list its dump again to "
                "rescan it with these settings, or harvest into a new --out"
            )
        scans.append(scan)
    return scans


def _classify_all(
    source: SubmissionSource, cfg: HarvestConfig, classifier: ChunkClassifier, spill: _BucketSpill, advance: Advance
) -> tuple[int, Counter[str], str | None]:
    outcomes: Counter[str] = Counter()
    lines, corrupt = 0, None
    results: Iterator[ChunkResult] = classifier.classify(source.chunks(advance), source.size())
    try:
        for chunk_lines, chunk_outcomes, kept, counts in results:
            lines += chunk_lines
            outcomes.update(chunk_outcomes)
            spill.add(kept, counts)
    except CorruptDumpError as error:
        if not cfg.skip_corrupt:
            raise
        corrupt = str(error)
    return lines, outcomes, corrupt


def scan_source(
    source: SubmissionSource,
    scan_root: Path,
    cfg: HarvestConfig,
    classifier: ChunkClassifier,
    progress: ProgressFactory = no_progress,
) -> ScanResult:
    """Scan ``source`` into ``scan_root/<source name>/`` unless an identical scan is already there."""
    directory = scan_root / source.name
    expected = scan_fingerprint(source, cfg)
    if (previous := completed_scan(directory, expected)) is not None:
        return previous
    partial = scan_root / f".{source.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    spill = _BucketSpill(partial)
    try:
        with progress(f"harvest {source.name}", source.size()) as advance:
            lines, outcomes, corrupt = _classify_all(source, cfg, classifier, spill, advance)
    finally:
        spill.close()
    result = ScanResult(
        source.name, directory, expected, lines, dict(sorted(outcomes.items())), corrupt, scan_settings(cfg)
    )
    atomic_write_json(partial / MARKER, result.as_json())
    shutil.rmtree(directory, ignore_errors=True)
    partial.rename(directory)
    return result
