"""Streaming readers for Pushshift-style NDJSON dumps: ``.zst``, ``.bz2``, ``.xz`` or plain.

The monthly Reddit dumps are zstd frames with a 2 GiB window (``zstd --long=31``), so the
decompressor must allow that window. Python's zstd stream reader ends quietly on a
truncated file; this reader checks that the last frame was complete and raises
:class:`CorruptDumpError` otherwise, so a cut-off download is never taken as a whole month.
"""

from __future__ import annotations

import bz2
import io
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from pipeline.progress import Advance

ZSTD_MAX_WINDOW = 2**31
READ_SIZE = 1 << 20
COMPRESSION_SUFFIXES = (".zst", ".zstd", ".bz2", ".xz")
DATA_SUFFIXES = (".ndjson", ".jsonl", ".json")
PROGRESS_EVERY_LINES = 8192


class CorruptDumpError(RuntimeError):
    """A dump that cannot be read to its end: truncated or damaged compressed data."""

    def __init__(self, path: Path, lines_read: int, detail: str) -> None:
        super().__init__(f"{path}: corrupt or truncated dump after {lines_read:,} lines ({detail})")
        self.path = path
        self.lines_read = lines_read
        self.detail = detail


class _ZstdFrames(io.RawIOBase):
    """Decompresses consecutive zstd frames and fails loudly if the last one is cut off."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self._frame = self._decompressor.decompressobj()
        self._frame_has_input = False
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if not self._fill():
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]  # a view: no copy of the remainder
        return size

    def _fill(self) -> bool:
        """Decompress the next chunk into ``_pending``; False at a clean end of input."""
        chunk = self._raw.read(READ_SIZE)
        if not chunk:
            if self._frame_has_input and not self._frame.eof:
                raise zstandard.ZstdError("input ends inside a zstd frame")
            return False
        decompressed = []
        while chunk:
            self._frame_has_input = True
            decompressed.append(self._frame.decompress(chunk))
            if not self._frame.eof:
                break
            chunk = self._frame.unused_data
            self._frame = self._decompressor.decompressobj()
            self._frame_has_input = False
        self._pending = memoryview(b"".join(decompressed))
        return True


def _decompressed(raw: BinaryIO, path: Path) -> BinaryIO:
    suffix = path.suffix.lower()
    if suffix in (".zst", ".zstd"):
        return io.BufferedReader(_ZstdFrames(raw), buffer_size=READ_SIZE)
    if suffix == ".bz2":
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if suffix == ".xz":
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    return raw


def dump_name(path: Path) -> str:
    """The dump's name without data and compression suffixes (``RS_2019-05.zst`` → ``RS_2019-05``)."""
    name = path.name
    for suffixes in (COMPRESSION_SUFFIXES, DATA_SUFFIXES):
        for suffix in suffixes:
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
                break
    return name


class DumpSource:
    """Submissions read from one dump file, streamed in constant memory."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.name = dump_name(self.path)
        if not self.path.is_file():
            raise FileNotFoundError(f"dump not found: {self.path}")

    def identity(self) -> dict[str, Any]:
        """What a resumed run compares to decide whether an earlier scan is still valid."""
        stat = self.path.stat()
        return {"dump": self.path.name, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def size(self) -> int:
        return self.path.stat().st_size

    def lines(self, advance: Advance = lambda position: None) -> Iterator[bytes]:
        """Raw NDJSON lines; reports the compressed bytes read through ``advance``."""
        lines_read = 0
        with open(self.path, "rb") as raw:
            try:
                with _decompressed(raw, self.path) as stream:
                    for lines_read, line in enumerate(stream, 1):
                        yield line
                        if not lines_read % PROGRESS_EVERY_LINES:
                            advance(raw.tell())
                    advance(raw.tell())
            except (EOFError, OSError, lzma.LZMAError, zstandard.ZstdError) as error:
                raise CorruptDumpError(self.path, lines_read, str(error) or type(error).__name__) from error
