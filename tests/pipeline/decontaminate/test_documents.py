"""The stage's output shard built from Arrow columns holds the same bytes as one built from ``Document`` records."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from pipeline.decontaminate.documents import document_at, document_columns, kept_documents
from pipeline.records import Document, document_id, from_table, to_table
from pipeline.shards import file_sha256, read_table, write_shard

WHEN = datetime(2019, 2, 1, 12, 30, 0, 123456, tzinfo=UTC)


def document(number: int) -> Document:
    url = f"https://example.org/{number}"
    return Document(
        document_id(url), url, "example.org", None if number % 2 else f"title {number}", f"text {number} é", number,
        WHEN, final_url=None if number % 3 else url + "?r", language_score=0.1 * number if number % 2 else None,
        quality_score=1 / 3, overlap_score=0.5,
    )  # fmt: skip


def test_kept_rows_write_the_bytes_of_the_records_path(tmp_path: Path) -> None:
    documents = [document(number) for number in range(7)]
    write_shard(to_table(documents, Document), tmp_path / "docs.parquet", shard_fingerprint="test")
    table = document_columns(read_table(tmp_path / "docs.parquet"))
    positions, texts, scores = [0, 2, 3, 6], ["cut", "masked <EMAIL_ADDRESS>", "", "kept"], [0.25, 0.0, 1 / 3, 0.0]
    changes = zip(positions, texts, scores, strict=True)
    records = [dataclasses.replace(documents[p], text=text, overlap_score=score) for p, text, score in changes]
    write_shard(to_table(records, Document), tmp_path / "records.parquet", shard_fingerprint="test")
    write_shard(kept_documents(table, positions, texts, scores), tmp_path / "columns.parquet", shard_fingerprint="test")
    assert file_sha256(tmp_path / "records.parquet") == file_sha256(tmp_path / "columns.parquet")
    every = kept_documents(table, range(7), [d.text for d in documents], [0.0] * 7)  # no row dropped: no take
    assert every.equals(to_table([dataclasses.replace(d, overlap_score=0.0) for d in documents], Document))
    assert document_at(table, 4) == list(from_table(table, Document))[4]
    write_shard(kept_documents(table, [], [], []), tmp_path / "none.parquet", shard_fingerprint="test")
    write_shard(to_table([], Document), tmp_path / "none-records.parquet", shard_fingerprint="test")
    assert file_sha256(tmp_path / "none.parquet") == file_sha256(tmp_path / "none-records.parquet")


def test_a_shard_without_nullable_columns_or_of_other_types_reads_as_records_do() -> None:
    table = to_table([document(number) for number in range(3)], Document).drop_columns(["overlap_score", "title"])
    table = table.set_column(table.column_names.index("karma"), "karma", table["karma"].cast(pa.int32()))
    columns = document_columns(table)
    assert columns.schema.equals(Document.SCHEMA)
    assert columns.equals(to_table(from_table(table, Document), Document))
