"""Streaming readers for Pushshift-style NDJSON dumps: ``.zst``, ``.bz2``, ``.xz`` or plain.

The monthly Reddit dumps are zstd frames with a 2 GiB window (``zstd --long=31``), so the
decompressor must allow that window. Python's zstd stream reader ends quietly on a
truncated file; this reader checks that the last frame was complete and raises
:class:`CorruptDumpError` otherwise, so a cut-off download is never taken as a whole month.
"""

from __future__ import annotations

import bz2
import lzma
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from pipeline.progress import Advance

ZSTD_MAX_WINDOW = 2**31
READ_SIZE = 1 << 18
COMPRESSION_SUFFIXES = (".zst", ".zstd", ".bz2", ".xz")
DATA_SUFFIXES = (".ndjson", ".jsonl", ".json")
# Bytes per block of whole lines: each block has a fixed cost (a few dozen Arrow calls, the spill's slices per
# bucket), still ~15% of the harvest's time at 8 MB; at most 2 blocks per worker wait, which bounds memory.
CHUNK_BYTES = 16 << 20
# Decompressed bytes zstd writes per step: the output of one read (~3 MB for a dump's 256 KiB) in one buffer, not
# in 128 KiB pieces joined afterwards.
ZSTD_WRITE_SIZE = 4 << 20


class CorruptDumpError(RuntimeError):
    """A dump that cannot be read to its end: truncated or damaged compressed data."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"{path}: corrupt or truncated dump ({detail})")
        self.path = path
        self.detail = detail


def _zstd_pieces(raw: BinaryIO) -> Iterator[bytes]:
    """Decompressed output of consecutive zstd frames; fails loudly if the last one is cut off."""
    decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    frame, frame_has_input = decompressor.decompressobj(write_size=ZSTD_WRITE_SIZE), False
    while chunk := raw.read(READ_SIZE):
        while chunk:
            frame_has_input = True
            if output := frame.decompress(chunk):
                yield output
            if not frame.eof:
                break
            chunk = frame.unused_data
            frame, frame_has_input = decompressor.decompressobj(write_size=ZSTD_WRITE_SIZE), False
    if frame_has_input and not frame.eof:
        raise zstandard.ZstdError("input ends inside a zstd frame")


def _stream_pieces(stream: BinaryIO) -> Iterator[bytes]:
    """Pieces of a file-like stream (closing it is left to whoever opened the file)."""
    while piece := stream.read(READ_SIZE * 4):
        yield piece


def _decompressed_pieces(raw: BinaryIO, path: Path) -> Iterator[bytes]:
    """The dump's decompressed bytes, in pieces of arbitrary size."""
    suffix = path.suffix.lower()
    if suffix in (".zst", ".zstd"):
        return _zstd_pieces(raw)
    if suffix == ".bz2":
        return _stream_pieces(bz2.BZ2File(raw))  # type: ignore[arg-type]
    if suffix == ".xz":
        return _stream_pieces(lzma.LZMAFile(raw))  # type: ignore[arg-type]
    return _stream_pieces(raw)


class Block:
    """Whole NDJSON lines, held as the pieces the decompressor wrote them in (a line may span two).

    The C scanner reads the pieces where they are: joining them would copy every byte of the
    dump once more, ~0.1 s per GB. The paths that need one ``bytes`` object join them.
    """

    __slots__ = ("parts", "size")

    def __init__(self, parts: Iterable[bytes | memoryview]) -> None:
        self.parts = tuple(parts)
        self.size = sum(map(len, self.parts))

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return b"".join(self.parts)


def block_parts(chunk: bytes | Block) -> tuple[bytes | memoryview, ...]:
    """The parts of a block given as one ``bytes`` object or as a :class:`Block`."""
    return chunk.parts if isinstance(chunk, Block) else (chunk,)


def _whole_lines(parts: list[bytes | memoryview]) -> Block | None:
    """``parts`` up to their last line end (``None`` if they hold none)."""
    for index in range(len(parts) - 1, -1, -1):
        if cut := bytes(parts[index]).rfind(b"\n") + 1:
            return Block([*parts[:index], memoryview(parts[index])[:cut]])
    return None


def whole_line_blocks(pieces: Iterable[bytes], chunk_bytes: int) -> Iterator[Block]:
    """Regroup ``pieces`` into blocks of at least ``chunk_bytes`` that end at a line end, without copying them:
    a block holds the pieces it spans, the last one cut after its last line end. If reading the pieces fails
    (a truncated or damaged dump), the whole lines read before the failure are still delivered first."""
    parts: list[bytes | memoryview] = []
    size = 0
    source = iter(pieces)
    while True:
        try:
            piece = next(source, None)
        except Exception:
            if (lines := _whole_lines(parts)) is not None:
                yield lines
            raise
        if piece is None:
            break
        cut = piece.rfind(b"\n") + 1
        if not cut or size + cut < chunk_bytes:
            parts.append(piece)
            size += len(piece)
            continue
        view = memoryview(piece)
        yield Block((*parts, view[:cut]))
        parts, size = ([view[cut:]] if cut < len(piece) else []), len(piece) - cut
    if size:
        yield Block(parts)


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

    def chunks(self, advance: Advance = lambda position: None, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Block]:
        """Blocks of whole NDJSON lines, about ``chunk_bytes`` each, for parallel classification.

        Reports the compressed bytes read so far through ``advance`` after every block.
        """
        bytes_read = 0
        with open(self.path, "rb") as raw:
            try:
                for block in whole_line_blocks(_decompressed_pieces(raw, self.path), chunk_bytes):
                    bytes_read += len(block)
                    yield block
                    advance(raw.tell())
            except (EOFError, OSError, lzma.LZMAError, zstandard.ZstdError) as error:
                detail = f"{error or type(error).__name__}; {bytes_read:,} bytes were readable"
                raise CorruptDumpError(self.path, detail) from error

    def lines(self, advance: Advance = lambda position: None) -> Iterator[bytes]:
        """Raw NDJSON lines without their line ends."""
        for chunk in self.chunks(advance):
            yield from split_lines(chunk)


def split_lines(chunk: bytes | Block) -> list[bytes]:
    """The lines of a block; a final line end does not make an extra empty line."""
    lines = bytes(chunk).split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines
