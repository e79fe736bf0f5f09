"""``WARC-Identified-Payload-Type``: the declared media type when it names one, the sniffed one when it does not."""

from __future__ import annotations

import gzip
import zlib

import pytest

from pipeline.fetch.payload_type import identified_payload_type

PAGE = b"<!DOCTYPE html>\n<html lang=en><head><title>Caf\xc3\xa9</title></head><body><p>Hello</p></body></html>\n"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/html; charset=UTF-8", "text/html"),
        ("TEXT/HTML", "text/html"),
        (' application/xhtml+xml ;charset="utf-8"', "application/xhtml+xml"),
        ("image/svg+xml", "image/svg+xml"),  # declared and specific: trusted, not sniffed
    ],
)
def test_a_declared_media_type_is_named_lower_cased_without_parameters(content_type: str, expected: str) -> None:
    assert identified_payload_type([("Server", "nginx"), ("content-type", content_type)], PAGE) == expected


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("Content-Type", "application/octet-stream")],
        [("Content-Type", "binary/octet-stream")],
        [("Content-Type", "")],
        [("Content-Type", "html")],  # no media type at all
    ],
)
def test_html_is_sniffed_when_the_header_says_nothing(headers: list[tuple[str, str]]) -> None:
    assert identified_payload_type(headers, PAGE) == "text/html"
    assert identified_payload_type(headers, b"\xef\xbb\xbf \r\n<html><body>x</body></html>") == "text/html"
    assert identified_payload_type(headers, b"<!-- generated --><p>x") == "text/html"
    assert identified_payload_type(headers, PDF) == "application/octet-stream"
    assert identified_payload_type(headers, b"<xml version='1.0'?><feed/>") == "application/octet-stream"
    assert identified_payload_type(headers, b"<abbr>not a signature</abbr>") == "application/octet-stream"


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw deflate, as servers send
    ],
)
def test_a_content_encoded_body_is_sniffed_decoded(coding: str, encode) -> None:
    headers = [("Content-Type", "application/octet-stream"), ("Content-Encoding", coding)]
    assert identified_payload_type(headers, encode(PAGE)) == "text/html"
    assert identified_payload_type(headers, encode(PAGE)[:-10]) == "text/html"  # a cut body: its head is enough
    assert identified_payload_type(headers, b"not compressed at all") == "application/octet-stream"
    assert identified_payload_type([*headers[:1], ("Content-Encoding", "br")], PAGE) == "application/octet-stream"


def test_plain_text_that_is_html_is_html() -> None:
    headers = [("Content-Type", "text/plain; charset=utf-8")]
    assert identified_payload_type(headers, PAGE) == "text/html"
    assert identified_payload_type(headers, b"User-agent: *\nDisallow: /private\n") == "text/plain"


def test_an_empty_payload_has_no_type_to_identify() -> None:
    assert identified_payload_type([("Content-Type", "text/html")], b"") == "application/octet-stream"
