"""What a response claims versus what it is: binary as HTML, PDFs, lying charsets."""

from __future__ import annotations

import codecs

from pipeline.fetch.warc import read_response


def test_binary_served_as_html_is_not_text(hostile, crawl) -> None:
    url = hostile.url("binary.test", "/binary")
    result = crawl([url])
    assert result.outcomes() == {url: "not_text"}
    assert result.pages[url].content_type == "text/html; charset=utf-8"


def test_pdf_is_not_html(hostile, crawl) -> None:
    url = hostile.url("pdf.test", "/pdf")
    result = crawl([url])
    assert result.outcomes() == {url: "not_html"}
    assert (result.pages[url].status, result.pages[url].content_type) == (200, "application/pdf")


def test_cp1252_page_declared_utf8_is_kept_with_a_working_charset(hostile, crawl) -> None:
    url = hostile.url("latin.test", "/mislabelled/french")
    result = crawl([url])
    record = result.pages[url]
    assert record.outcome == "ok"
    assert codecs.lookup(record.charset).name == "cp1252"  # not utf-8 (fails), cp1257 (è → č) nor latin-1 (€ → \x80)
    _, _, body = read_response(result.out / record.warc_file, record.warc_offset)
    assert hostile.accented_text in body.decode(record.charset)


def test_meta_charset_is_honoured_when_the_header_charset_fails(hostile, crawl) -> None:
    url = hostile.url("meta.test", "/mislabelled/polish")
    result = crawl([url])
    record = result.pages[url]
    assert (record.outcome, record.charset) == ("ok", "cp1250")
    _, _, body = read_response(result.out / record.warc_file, record.warc_offset)
    assert hostile.polish_text in body.decode(record.charset)
