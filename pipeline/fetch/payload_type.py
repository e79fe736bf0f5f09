"""The media type of an archived payload, for the ``WARC-Identified-Payload-Type`` header.

Readers that follow Common Crawl's conventions (datatrove's ``WarcReader`` among them) keep a response only when
this header says ``text/html`` or ``application/xhtml+xml``, and guess the type with libmagic when it is missing,
which drops most real pages. Common Crawl sniffs every payload; here the HTTP ``Content-Type`` names it (its media
type, lower-cased, without parameters), and the body's first bytes are sniffed for HTML only when the header is
missing or says little (``application/octet-stream`` and the like, or ``text/plain``, which fetch also keeps and
servers put on HTML), so the hot path costs one header lookup.
"""

from __future__ import annotations

import re
import zlib

UNKNOWN_TYPE = "application/octet-stream"  # what an empty or unrecognised payload is identified as, as Tika says
GENERIC_TYPES = frozenset({"", UNKNOWN_TYPE, "binary/octet-stream", "application/unknown", "unknown/unknown", "*/*"})
PLAIN_TEXT = "text/plain"  # kept as declared unless the body starts as HTML
SNIFF_BYTES = 1024
MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
# The HTML signatures of the WHATWG MIME Sniffing Standard (§7.1), after leading whitespace: a tag name ended by a
# space or ``>``, or a comment.
HTML_SIGNATURE = re.compile(
    rb"[\t\n\x0c\r ]*(?:<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p)"
    rb"[ >]|<!--)",
    re.IGNORECASE,
)
UTF8_BOM = b"\xef\xbb\xbf"
# zlib windows to try per content coding: gzip (or zlib) headers; for deflate, zlib then raw, as browsers accept
CODING_WINDOWS = {
    "gzip": (zlib.MAX_WBITS | 32,),
    "x-gzip": (zlib.MAX_WBITS | 32,),
    "deflate": (zlib.MAX_WBITS, -zlib.MAX_WBITS),
}


def identified_payload_type(headers: list[tuple[str, str]], body: bytes) -> str:
    """The media type of ``body`` (as received, still content-encoded), given its HTTP response ``headers``."""
    if not body:
        return UNKNOWN_TYPE
    declared, encoding = "", ""
    for name, value in headers:
        lowered = name.lower()
        if lowered == "content-type":
            declared = value
        elif lowered == "content-encoding":
            encoding = value
    media_type = MEDIA_TYPE.match(declared.partition(";")[0].strip().lower())
    declared_type = "" if media_type is None else media_type.group()
    if declared_type not in GENERIC_TYPES and declared_type != PLAIN_TEXT:
        return declared_type
    if HTML_SIGNATURE.match(_head(body, encoding).removeprefix(UTF8_BOM)):
        return "text/html"
    return PLAIN_TEXT if declared_type == PLAIN_TEXT else UNKNOWN_TYPE


def _head(body: bytes, content_encoding: str) -> bytes:
    """The first decoded bytes of ``body``; empty when its content coding cannot be undone."""
    coding = content_encoding.strip().lower()
    if coding in ("", "identity"):
        return body[:SNIFF_BYTES]
    for window in CODING_WINDOWS.get(coding, ()):
        try:
            return zlib.decompressobj(window).decompress(body, SNIFF_BYTES)
        except zlib.error:
            continue
    return b""
