"""From one response body to main text: decode it, then hand the HTML to the configured extractor.

WebText's value is curated prose, so the extractors err towards precision as FineWeb does: a lost
paragraph costs little, while cookie banners, navigation and reader comments repeated in every
document would teach the model boilerplate (the extractors themselves live in ``backends``).
Everything here is a pure function of the body and its headers; what can go wrong on one page
comes back as a snake_case reason, never an exception.

The text keeps the page's structure the way Gopher's rules read it: paragraphs separated by one
blank line (``"\\n\\n"``), the lines of a paragraph (list items, ``<br>``) by ``"\\n"``, whitespace
within a line collapsed, no empty lines. Plain-text pages and every backend build their text with
``paragraph_text``, so this holds whatever the backend.

This module imports nothing beyond the standard library at load time: worker processes import it
(through ``PageRules``) and start faster without the config's pydantic.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import importlib
import logging
import re
from collections.abc import Callable, Iterable

# Reasons a page yields no document (the names of the rejected/extract/<reason>/ directories).
NOT_TEXT = "not_text"
UNDECODABLE = "undecodable"
EXTRACTION_FAILED = "extraction_failed"
EXTRACTOR_ERROR = "extractor_error"
TOO_SHORT = "too_short"
TIMEOUT = "timeout"
WARC_ERROR = "warc_error"  # the archived response cannot be read back (see ``archive``)
# The site reserved its pages from text and data mining (W3C TDMRep: the ``tdm-reservation: 1`` header or meta tag)
TDM_RESERVED = "tdm_reserved"
ROBOTS_NOAI = "robots_noai"  # ``<meta name="robots" content="noai">`` (or ``noimageai``): no AI training

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/xml", "text/xml", ""})
PLAIN_TYPES = frozenset({"text/plain"})
# Real text, in any encoding, has next to no C0 controls; random bytes have ~11% and mis-decoded
# text many replacement characters, so a 5% share is a wide margin between the two.
MAX_CONTROL_SHARE = 0.05
MIN_VALID_PER_INVALID = 20  # non-ASCII characters decoding fine per invalid sequence, to trust a stored charset
CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
# The same characters in valid UTF-8: C0 and DEL are those bytes, C1 is \xc2 and a byte 80-9f, U+FFFD is EF BF BD.
UTF8_C1, UTF8_REPLACEMENT = re.compile(b"\xc2[\x80-\x9f]"), "\ufffd".encode()
UTF8_CODECS = frozenset({"utf-8", "utf8", "utf-8-sig"})
# Labels that browsers (WHATWG) decode as windows-1252: pages declaring latin-1 routinely contain
# cp1252's curly quotes and dashes, which Python's latin-1 would turn into C1 control characters.
WINDOWS_1252_LABELS = frozenset(
    {"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "ascii", "us-ascii"}
)
BYTE_ORDER_MARKS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Chinese and Japanese do not separate words with spaces: each character counts as one word,
# so a CJK article is not mistaken for a thin page.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_CHAR = re.compile(f"[{CJK}]")
WORD = re.compile(f"[{CJK}]|[^\\s{CJK}]+")
BLANK_LINE = re.compile(r"\n[^\S\n]*\n")  # a line with nothing but whitespace ends a paragraph
# Opt-out meta tags belong in the head (TDMRep, robots meta): a search for their words in the lower-cased head
# (a case-insensitive regex over the page is 100x slower) decides whether to parse its tags.
OPTOUT_WORDS = ("tdm-reservation", "noai", "noimageai")
META_TAG = re.compile(r"<meta\b[^>]*>")  # in the lower-cased page
ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
NOAI_VALUES = frozenset({"noai", "noimageai"})

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class ExtractedPage:
    """A page's main text and metadata; the flags record how it was obtained, for the stage's counts."""

    text: str
    title: str | None = None
    published: str | None = None  # ISO date as the page gives it
    charset_detected: bool = False  # the stored charset failed and detection decoded the body
    truncated: bool = False  # the page was longer than max_chars_per_page and was cut

    def __reduce__(self) -> tuple:
        """Pickled as its fields in order: one per page crosses the worker's pipe, and the default is 5x slower."""
        return ExtractedPage, (self.text, self.title, self.published, self.charset_detected, self.truncated)


@dataclasses.dataclass(frozen=True, slots=True)
class PageRules:
    """What extracting one page depends on (``ExtractConfig.page_rules()``); ``extractor`` is an import path."""

    min_words: int
    max_chars_per_page: int
    extractor: str
    honour_tdm_reservation: bool = True
    honour_noai: bool = True
    dates: str = "meta"  # how the extractor finds the publication date: none, meta or full (``ExtractConfig.dates``)


# (html, url, dates) -> the page's main text, or None when there is none. PageRules.extractor names one.
Extractor = Callable[[str, str | None, str], ExtractedPage | None]


@functools.cache
def resolve_extractor(path: str) -> Extractor:
    """The function behind a ``module:function`` path, imported once per process."""
    module_name, _, attribute = path.partition(":")
    try:
        extractor = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"extractor: cannot import {path!r}: {error}") from error
    if not callable(extractor):
        raise ValueError(f"extractor: {path!r} is not a function")
    return extractor


def preload_extractor(path: str) -> None:
    """Import the extractor behind ``path`` and the libraries its module lists for it (``LIBRARIES``, by function
    name), which it imports on first use: a worker does this while it starts, so the first page does not wait.

    A library that fails to import is left to the first page, which counts that failure as it always did.
    """
    resolve_extractor(path)
    module_name, _, attribute = path.partition(":")
    for library in getattr(importlib.import_module(module_name), "LIBRARIES", {}).get(attribute, ()):
        try:
            importlib.import_module(library)
        except ImportError:
            logger.debug("cannot preload %s for %s", library, path, exc_info=True)


def _control_bytes(body: bytes) -> int:
    return len(body) - len(body.translate(None, CONTROL_BYTES))  # deleting is a C loop, 5x faster than a regex


def _control_share(text: str, utf8_body: bytes | None) -> float:
    """The share of control and replacement characters in ``text``; ``utf8_body``: the bytes it is valid UTF-8 of.

    Most pages are UTF-8 and some non-ASCII: counted on their bytes (mostly C loops), 3x faster than on the text.
    """
    if utf8_body is not None:
        controls = _control_bytes(utf8_body)
        controls += len(UTF8_C1.findall(utf8_body)) if b"\xc2" in utf8_body else 0
        controls += utf8_body.count(UTF8_REPLACEMENT) if b"\xef" in utf8_body else 0
    elif text.isascii():
        controls = _control_bytes(text.encode("ascii"))
    else:
        controls = len(text) - len(CONTROL_CHARS.sub("", text))
    return controls / max(len(text), 1)


def _decode_as_stored(body: bytes, charset: str | None) -> tuple[str, bool] | None:
    """``body`` decoded by its byte-order mark, else the stored charset (or UTF-8); None if that is wrong.

    A few invalid bytes in a page that is otherwise valid in its charset (a stray cp1252 quote
    in a UTF-8 page) become U+FFFD: handing such a page to detection would garble every other
    non-ASCII character. The charset is wrong when invalid sequences are not rare among the
    non-ASCII characters (cp1252 bytes sent as UTF-8 form almost no valid sequence). Also says
    whether the text is ``body`` decoded as UTF-8 without error.
    """
    label = next((codec for mark, codec in BYTE_ORDER_MARKS if body.startswith(mark)), None)
    label = label or (charset or "utf-8").strip().lower()
    label = "cp1252" if label in WINDOWS_1252_LABELS else label
    try:
        return body.decode(label), label in UTF8_CODECS
    except LookupError:
        return None
    except UnicodeDecodeError:
        text = body.decode(label, errors="replace")
    replaced = text.count("\ufffd")
    decoded_fine = len(text) - len(text.encode("ascii", "ignore")) - replaced  # non-ASCII characters that decoded
    return (text, False) if replaced * MIN_VALID_PER_INVALID <= decoded_fine else None


def _detect_and_decode(body: bytes) -> str | None:
    from charset_normalizer import from_bytes  # imported here: only the rare mislabelled page needs it

    match = from_bytes(body).best()
    return None if match is None else str(match)


def decode_body(body: bytes, charset: str | None) -> tuple[str, bool] | str:
    """(text, whether detection was needed), or the reason it is not text: ``not_text`` or ``undecodable``.

    The stored charset is the fetcher's best knowledge, but servers lie (cp1252 bytes sent as
    UTF-8), so a body it cannot decode strictly is handed to charset detection rather than
    decoded with replacement characters.
    """
    stored = _decode_as_stored(body, charset)
    detected = stored is None
    if stored is None:
        if _control_bytes(body) / max(len(body), 1) > MAX_CONTROL_SHARE:
            return NOT_TEXT  # binary: skip detection, which would be slow and could only guess
        text = _detect_and_decode(body)
        if text is None:
            return UNDECODABLE
        utf8_body = None
    else:
        text, valid_utf8 = stored
        utf8_body = body if valid_utf8 else None
    if _control_share(text, utf8_body) > MAX_CONTROL_SHARE:
        return NOT_TEXT
    return text, detected


def page_kind(content_type: str | None) -> str | None:
    """``html``, ``plain``, or None for a type with no text to extract (a PDF, an image)."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime in HTML_TYPES:
        return "html"
    return "plain" if mime in PLAIN_TYPES else None


def paragraph_text(paragraphs: Iterable[str]) -> str:
    """Paragraphs joined by a blank line, each line's whitespace collapsed; empty lines and paragraphs dropped."""
    blocks = []
    for block in paragraphs:
        lines = [" ".join(line.split()) for line in block.splitlines()]
        block = "\n".join([line for line in lines if line])
        if block:
            blocks.append(block)
    return "\n\n".join(blocks)


def plain_text(text: str) -> str:
    """A text (a text/plain body, resiliparse's output) with its paragraphs (blocks between blank lines) and
    lines kept, whitespace normalised: ``paragraph_text`` of its blocks; a text already so is returned as is.
    """
    return text if _is_normalised(text) else paragraph_text(BLANK_LINE.split(text))


def _is_normalised(text: str) -> bool:
    """Whether ``paragraph_text`` would return ``text`` unchanged: what resiliparse mostly gives, checked 3x faster.

    Single spaces between words, lines split by one newline and paragraphs by one blank line,
    none at either end, and no other whitespace: every whitespace character but the space is
    unprintable (so are control characters, which only send a text down the usual path).
    """
    return (
        not text.startswith((" ", "\n"))
        and not text.endswith((" ", "\n"))
        and "  " not in text
        and " \n" not in text
        and "\n " not in text
        and "\n\n\n" not in text
        and text.replace("\n", "").isprintable()
    )


def count_words(text: str) -> int:
    """Whitespace-separated words, each CJK character counting as one."""
    if text.isascii() or not CJK_CHAR.search(text):
        return len(text.split())  # 10x faster than the regex
    return len(WORD.findall(text))


def has_words(text: str, words: int) -> bool:
    """``count_words(text) >= words``, splitting off no more than ``words`` words (most pages have hundreds)."""
    if text.isascii() or not CJK_CHAR.search(text):
        return len(text.split(maxsplit=words)) >= words  # min(count, words + 1) items
    return len(WORD.findall(text)) >= words


def _run_extractor(rules: PageRules, html: str, url: str | None) -> ExtractedPage | str:
    extractor = resolve_extractor(rules.extractor)
    try:
        page = extractor(html, url, rules.dates)
    except Exception:  # hostile HTML can break any third-party extractor: that page becomes an outcome
        logger.debug("extractor raised on %s", url, exc_info=True)
        return EXTRACTOR_ERROR
    if page is None or not page.text.strip():
        return EXTRACTION_FAILED
    return page


def _meta_tags(lowered: str) -> dict[str, set[str]]:
    """A lower-cased page's ``<meta name=... content=...>`` values by name, the content split on commas and spaces."""
    tags: dict[str, set[str]] = {}
    for tag in META_TAG.findall(lowered):
        attributes = {name: double or single or bare for name, double, single, bare in ATTRIBUTE.findall(tag)}
        name = attributes.get("name", "").strip()
        if name:
            tags.setdefault(name, set()).update(re.split(r"[\s,]+", attributes.get("content", "").strip()))
    return tags


def tdm_reservation(header: str | None, file_reservation: int | None = None) -> int | None:
    """The TDMRep reservation a response declares before its HTML is read: its ``TDM-Reservation`` header (1 or
    0) supersedes the site's tdmrep.json (``file_reservation``); a header missing or neither 1 nor 0 resets
    nothing (W3C TDMRep, "Processing priority")."""
    value = (header or "").strip()
    return int(value) if value in ("0", "1") else file_reservation


def header_optout(robots_tag: str | None, rules: PageRules) -> str | None:
    """The opt-out a response's ``X-Robots-Tag`` declares: noai/noimageai (for every crawler: a value naming
    one, ``otherbot: noai``, is not webtext's)."""
    if rules.honour_noai and robots_tag and ":" not in robots_tag.split(",")[0]:
        if NOAI_VALUES & set(re.split(r"[\s,]+", robots_tag.strip().lower())):
            return ROBOTS_NOAI
    return None


def _head_meta_tags(html: str) -> dict[str, set[str]]:
    """The head's meta tags by name, or none when the head has no opt-out word (the common case, found fast)."""
    body = min((found for found in (html.find("<body"), html.find("<BODY")) if found >= 0), default=len(html))
    lowered = html[:body].lower()
    if not any(word in lowered for word in OPTOUT_WORDS):
        return {}
    return _meta_tags(lowered)


def optout_reason(html: str, rules: PageRules, reservation: int | None = None) -> str | None:
    """The opt-out that holds once a page's head is read: TDMRep's reservation, its ``<meta
    name="tdm-reservation">`` superseding the ``reservation`` its headers and site file declared, or a
    ``<meta name="robots">`` with noai/noimageai."""
    if not (rules.honour_tdm_reservation or rules.honour_noai):
        return None
    tags = _head_meta_tags(html)
    if rules.honour_tdm_reservation:
        declared = tags.get("tdm-reservation", set())
        if "1" in declared or ("0" not in declared and reservation == 1):
            return TDM_RESERVED
    if rules.honour_noai and NOAI_VALUES & tags.get("robots", set()):
        return ROBOTS_NOAI
    return None


def extract_page(
    body: bytes,
    content_type: str | None,
    charset: str | None,
    url: str | None,
    rules: PageRules,
    reservation: int | None = None,
) -> ExtractedPage | str:
    """The main text of one response body, or the snake_case reason it yields no document. ``reservation`` is
    the TDMRep value the response's headers and site file declared (``tdm_reservation``)."""
    kind = page_kind(content_type)
    if kind is None:
        return NOT_TEXT
    if kind == "plain" and reservation == 1 and rules.honour_tdm_reservation:
        return TDM_RESERVED
    decoded = decode_body(body, charset)
    if isinstance(decoded, str):
        return decoded
    text, detected = decoded
    truncated = len(text) > rules.max_chars_per_page
    text = text[: rules.max_chars_per_page]
    if kind != "plain" and (optout := optout_reason(text, rules, reservation)) is not None:
        return optout
    page = ExtractedPage(plain_text(text)) if kind == "plain" else _run_extractor(rules, text, url)
    if isinstance(page, str):
        return page
    if not has_words(page.text, rules.min_words):
        return TOO_SHORT
    return ExtractedPage(page.text, page.title, page.published, detected, truncated)  # dataclasses.replace: 10x slower
