"""Reading a response body safely: size caps before and after decompression, charset, binary sniffing.

The raw bytes are kept for the WARC archive (with their Content-Encoding, as WARC
expects); the decoded size is what the cap protects, so a gzip bomb is stopped after
``max_bytes`` of output, never inflated in memory.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import AsyncIterator
from typing import Protocol

from charset_normalizer import from_bytes

CHUNK_BYTES = 64 << 10
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
CONTENT_TYPE_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", re.IGNORECASE)
# Languages whose legacy Windows code page is 1252, as charset_normalizer names them.
WINDOWS_1252_LANGUAGES = frozenset(
    "English French German Spanish Portuguese Italian Dutch Danish Norwegian Swedish Finnish Indonesian".split()
)


class BodyRejected(Exception):
    """The body cannot be kept; ``reason`` is the outcome (``too_large``, ``unsupported_encoding``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Decompressor(Protocol):
    unconsumed_tail: bytes

    def decompress(self, data: bytes, max_length: int = ...) -> bytes: ...


class _Identity:
    unconsumed_tail = b""

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        return data


def _decompressor(content_encoding: str) -> _Decompressor:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return _Identity()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    raise BodyRejected("unsupported_encoding")


async def read_capped(chunks: AsyncIterator[bytes], content_encoding: str, max_bytes: int) -> tuple[bytes, bytes]:
    """(raw, decoded) body; raises :class:`BodyRejected` past ``max_bytes`` on either side."""
    decoder = _decompressor(content_encoding)
    raw: list[bytes] = []
    decoded: list[bytes] = []
    raw_size = decoded_size = 0
    async for chunk in chunks:
        raw_size += len(chunk)
        if raw_size > max_bytes:
            raise BodyRejected("too_large")
        raw.append(chunk)
        try:
            output = decoder.decompress(chunk, max_bytes - decoded_size + 1)
        except zlib.error as error:
            raise BodyRejected("bad_encoding") from error
        decoded_size += len(output)
        if decoded_size > max_bytes or decoder.unconsumed_tail:
            raise BodyRejected("too_large")
        decoded.append(output)
    return b"".join(raw), b"".join(decoded)


async def read_prefix(chunks: AsyncIterator[bytes], content_encoding: str, limit: int) -> tuple[bytes, bytes, bool]:
    """(raw bytes read, the first ``limit`` decoded bytes, whether that is all of the body); reading stops there.

    For a text whose head is all that counts (robots.txt): a longer body is cut, never refused, and a
    corrupt stream ends where it broke. Raw bytes that decode to little are capped too (twice ``limit``).
    """
    decoder = _decompressor(content_encoding)
    raw: list[bytes] = []
    decoded: list[bytes] = []
    raw_size = decoded_size = 0
    async for chunk in chunks:
        raw.append(chunk)
        raw_size += len(chunk)
        try:
            output = decoder.decompress(chunk, limit - decoded_size + 1)
        except zlib.error:
            return b"".join(raw), b"".join(decoded), False
        decoded.append(output)
        decoded_size += len(output)
        if decoded_size > limit or decoder.unconsumed_tail or raw_size > 2 * limit + CHUNK_BYTES:
            return b"".join(raw), b"".join(decoded)[:limit], False
    return b"".join(raw), b"".join(decoded), True


def declared_charset(content_type: str | None, body: bytes) -> str | None:
    """The charset the header declares, else the one a ``<meta>`` tag near the top declares."""
    match = CONTENT_TYPE_CHARSET.search(content_type or "")
    if match is None:
        match_bytes = META_CHARSET.search(body[:4096])
        return _known(match_bytes.group(1).decode("ascii")) if match_bytes else None
    return _known(match.group(1))


# The WHATWG Encoding Standard (what browsers do) reads these labels as windows-1252: pages
# labelled latin-1 routinely contain curly quotes and the euro sign from cp1252.
WINDOWS_1252_LABELS = frozenset({"iso8859-1", "ascii"})


def _known(name: str) -> str | None:
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return "cp1252" if codec in WINDOWS_1252_LABELS else codec


_CONTROL_BYTES = bytes(byte for byte in range(256) if byte < 9 or 13 < byte < 32)


def looks_binary(body: bytes) -> bool:
    """NUL bytes or mostly control characters near the top: not a text document, whatever it claims."""
    head = body[:4096]
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls / len(head) > 0.05


def settle_charset(content_type: str | None, body: bytes) -> str | None:
    """The charset that decodes ``body``: the declared one if it works, else UTF-8, else detected.

    Pages lie about their encoding (a ``utf-8`` header on Windows-1252 bytes); the declared
    charset is only trusted when the bytes decode under it without errors.
    """
    candidates = [declared_charset(content_type, body), "utf-8"]
    for charset in candidates:
        if charset is None:
            continue
        try:
            body.decode(charset)
            return charset
        except (UnicodeDecodeError, LookupError):
            continue
    return _detected(body)


def _detected(body: bytes) -> str | None:
    """charset_normalizer's guess, except that Windows-1252 wins for Western-European text it can decode.

    On short pages the detector ranks Baltic and Central-European code pages above
    Windows-1252 for French or Spanish text (``è`` becomes ``č``), though it names the language right.
    """
    matches = from_bytes(body[: 1 << 16])
    best = matches.best()
    if best is None:
        return None
    if best.language in WINDOWS_1252_LANGUAGES and any("cp1252" in match.could_be_from_charset for match in matches):
        return "cp1252"
    return _known(best.encoding)
