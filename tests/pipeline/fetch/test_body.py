"""Charset decisions on bodies that lie, without a server in the way."""

from __future__ import annotations

from pipeline.fetch.body import declared_charset, looks_binary, settle_charset

CP1252_TEXT = "“Déjà vu,” she said — it cost 5 € at the café.".encode("cp1252")


def test_latin1_label_is_read_as_windows_1252_like_browsers() -> None:
    assert settle_charset("text/html; charset=iso-8859-1", CP1252_TEXT) == "cp1252"
    assert CP1252_TEXT.decode(settle_charset("text/html; charset=ISO-8859-1", CP1252_TEXT)).startswith("“Déjà")
    assert declared_charset("text/plain; charset=us-ascii", b"plain") == "cp1252"


FRENCH_PAGE = (
    "<html><body><p>Le marché du samedi attire les habitués dès l’aube : on y trouve des légumes "
    "de saison, du pain façonné à la main et des fromages affinés. Les élèves du quartier "
    "vendent des crêpes pour financer leur voyage, et l’été, la fête réunit près de deux mille "
    "visiteurs — « une tradition à préserver », répète le maire.</p></body></html>"
).encode("cp1252")


def test_a_declared_charset_that_fails_is_not_trusted() -> None:
    charset = settle_charset("text/html; charset=utf-8", FRENCH_PAGE)
    assert charset == "cp1252"
    assert "marché du samedi" in FRENCH_PAGE.decode(charset) and "« une tradition" in FRENCH_PAGE.decode(charset)


def test_meta_charset_counts_when_the_header_has_none() -> None:
    body = b'<html><head><meta charset="koi8-r"></head><body>' + "Привет, мир".encode("koi8-r") + b"</body></html>"
    assert settle_charset("text/html", body) == "koi8-r"


def test_binary_sniffing() -> None:
    assert looks_binary(b"%PDF-1.4\x00\x01\x02 stream")
    assert looks_binary(bytes(range(1, 9)) * 100)
    assert not looks_binary("<html>héllo</html>\r\n\t".encode())
    assert not looks_binary(b"")
