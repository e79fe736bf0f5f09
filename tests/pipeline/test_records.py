from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from pipeline.records import UTC_TIMESTAMP, Document, FetchRecord, UrlRecord, document_id, from_table, to_table

WHEN = datetime(2019, 1, 5, 12, 30, tzinfo=UTC)


def test_url_records_round_trip_through_their_schema() -> None:
    records = [
        UrlRecord("http://a.test/x", "a.test", 7, 2, WHEN, ["news", "world"], ["abc", "abd"]),
        UrlRecord("http://b.test/", "b.test", 3, 1, WHEN, ["books"], ["xyz"]),
    ]
    table = to_table(records, UrlRecord)
    assert table.schema == UrlRecord.SCHEMA
    assert list(from_table(table, UrlRecord)) == records


def test_empty_tables_keep_the_schema() -> None:
    table = to_table([], Document)
    assert table.num_rows == 0 and table.schema == Document.SCHEMA


def test_wrong_types_are_refused_by_arrow() -> None:
    bad = UrlRecord("http://a.test/", "a.test", "lots", 1, WHEN, [], [])  # type: ignore[arg-type]
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        to_table([bad], UrlRecord)


def test_from_table_names_missing_columns() -> None:
    table = pa.table({"url": ["http://a.test/"]})
    with pytest.raises(ValueError, match="FetchRecord columns"):
        list(from_table(table, FetchRecord))


def test_documents_carry_optional_later_stage_fields() -> None:
    document = Document(document_id("http://a.test/x"), "http://a.test/x", "a.test", None, "text", 3, WHEN)
    (back,) = from_table(to_table([document], Document), Document)
    assert back.language is None and back.quality_score is None and back == document


def test_document_id_is_stable_and_distinct() -> None:
    assert document_id("http://a.test/x") == document_id("http://a.test/x")
    assert document_id("http://a.test/x") != document_id("http://a.test/y")
    assert len(document_id("http://a.test/x")) == 32


def test_from_table_fills_missing_nullable_columns_with_nulls() -> None:
    """Shards written before ``first_seen`` and ``tdm_file_reservation`` existed still read, with them None."""
    record = FetchRecord(
        "http://a.test/x",
        "http://a.test/x",
        200,
        "text/html",
        "utf-8",
        10,
        "warc/a.warc.gz",
        0,
        WHEN,
        "ok",
        3,
        1,
        WHEN,
        1,
    )
    old_shard = to_table([record], FetchRecord).drop_columns(["first_seen", "tdm_file_reservation"])
    (back,) = from_table(old_shard, FetchRecord)
    assert back == dataclasses.replace(record, first_seen=None, tdm_file_reservation=None)


def test_from_table_still_refuses_missing_non_nullable_columns() -> None:
    document = Document(document_id("http://a.test/x"), "http://a.test/x", "a.test", None, "text", 3, WHEN)
    table = to_table([document], Document).drop_columns(["text", "first_seen", "language"])
    with pytest.raises(ValueError, match=r"Document columns: \['text'\]"):
        list(from_table(table, Document))


def test_first_seen_sits_after_the_fetch_fields() -> None:
    assert FetchRecord.SCHEMA.names[-2:] == ["first_seen", "tdm_file_reservation"]
    assert all(FetchRecord.SCHEMA.field(name).nullable for name in FetchRecord.SCHEMA.names[-2:])
    names = Document.SCHEMA.names
    assert names.index("first_seen") == names.index("warc_offset") + 1 == names.index("language") - 1
    assert Document.SCHEMA.field("first_seen").type == UTC_TIMESTAMP
