"""Records that cross stage boundaries, each with the pyarrow schema of its shards.

Stages exchange only these records (as Parquet shards), never free-form dicts, so a
column added or renamed here is the single place the contract changes. Timestamps are
UTC with microsecond precision; lists are Arrow lists of strings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import ClassVar, TypeVar

import pyarrow as pa

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclasses.dataclass(slots=True)
class UrlRecord:
    """An outbound link harvested from Reddit, with karma summed over its submissions."""

    url: str
    domain: str
    karma: int
    n_submissions: int
    first_seen: datetime
    subreddits: list[str]
    submission_ids: list[str]

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("url", pa.string(), nullable=False),
            pa.field("domain", pa.string(), nullable=False),
            pa.field("karma", pa.int64(), nullable=False),
            pa.field("n_submissions", pa.int64(), nullable=False),
            pa.field("first_seen", UTC_TIMESTAMP, nullable=False),
            pa.field("subreddits", pa.list_(pa.string()), nullable=False),
            pa.field("submission_ids", pa.list_(pa.string()), nullable=False),
        ]
    )


@dataclasses.dataclass(slots=True)
class FetchRecord:
    """One URL of the pages index: where its response lives in the WARC archive, or why there is none.

    ``warc_file`` is relative to the fetch output directory and ``warc_offset`` is the byte
    offset of the gzip member holding the ``response`` record, so one page can be read
    back without scanning the archive. ``outcome`` is ``ok`` or the reason it failed.
    ``first_seen`` is carried over from harvest so later stages can rank pages by age on
    Reddit; it is ``None`` in shards written before it was recorded.
    """

    url: str
    final_url: str | None
    status: int | None
    content_type: str | None
    charset: str | None
    bytes: int
    warc_file: str | None
    warc_offset: int | None
    fetched_at: datetime
    outcome: str
    karma: int
    attempts: int
    first_seen: datetime | None = None
    tdm_file_reservation: int | None = None  # the site's tdmrep.json on this page: 1 reserved, 0 not, None unset

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("url", pa.string(), nullable=False),
            pa.field("final_url", pa.string()),
            pa.field("status", pa.int32()),
            pa.field("content_type", pa.string()),
            pa.field("charset", pa.string()),
            pa.field("bytes", pa.int64(), nullable=False),
            pa.field("warc_file", pa.string()),
            pa.field("warc_offset", pa.int64()),
            pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
            pa.field("outcome", pa.string(), nullable=False),
            pa.field("karma", pa.int64(), nullable=False),
            pa.field("attempts", pa.int32(), nullable=False),
            pa.field("first_seen", UTC_TIMESTAMP),
            pa.field("tdm_file_reservation", pa.int8()),
        ]
    )


PAGES_CONTENT_SHA256 = "content_sha256"  # the pages shard stats key of ``pages_content_sha256``
REFRESHABLE_FETCH_FIELDS = frozenset({"karma"})  # what a pages row may change without its page being fetched again


def pages_content_sha256(pages: pa.Table) -> str:
    """A pages table's hash, its karma left out: what the pages say of the fetched pages themselves.

    The fetch stage carries a URL's newest karma into its pages row without fetching it again; extract keys
    its work by this hash, so such a row changes a Document's karma, never makes a page be extracted again.
    Hashed by value, column by column in name order, so it does not depend on how the table was chunked.
    """
    digest = hashlib.sha256()
    for name in sorted(set(pages.column_names) - REFRESHABLE_FETCH_FIELDS):
        digest.update(json.dumps([name, pages[name].to_pylist()], default=str).encode("utf-8"))
    return digest.hexdigest()


@dataclasses.dataclass(slots=True)
class Document:
    """A web page's main text plus the metadata each later stage adds.

    Fields up to ``first_seen`` come from harvest, fetch and extract; the ones after it
    are filled by later stages (language ID, quality scoring, dedup, decontamination)
    and stay ``None`` until then. ``first_seen`` (the earliest Reddit submission of the
    URL) lets dedup keep the earliest of duplicates; it is ``None`` for pages fetched
    before it was recorded.
    """

    id: str
    url: str
    domain: str
    title: str | None
    text: str
    karma: int
    fetched_at: datetime
    final_url: str | None = None
    published: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None
    first_seen: datetime | None = None
    language: str | None = None
    language_score: float | None = None
    quality_score: float | None = None
    duplicate_cluster: str | None = None
    overlap_score: float | None = None

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("url", pa.string(), nullable=False),
            pa.field("domain", pa.string(), nullable=False),
            pa.field("title", pa.string()),
            pa.field("text", pa.string(), nullable=False),
            pa.field("karma", pa.int64(), nullable=False),
            pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
            pa.field("final_url", pa.string()),
            pa.field("published", pa.string()),
            pa.field("warc_file", pa.string()),
            pa.field("warc_offset", pa.int64()),
            pa.field("first_seen", UTC_TIMESTAMP),
            pa.field("language", pa.string()),
            pa.field("language_score", pa.float32()),
            pa.field("quality_score", pa.float32()),
            pa.field("duplicate_cluster", pa.string()),
            pa.field("overlap_score", pa.float32()),
        ]
    )


@dataclasses.dataclass(slots=True)
class RemovedSpan:
    """Characters the decontaminate stage cut from a document (``start``/``end`` index its text before the cut),
    and the references whose n-grams matched inside them."""

    id: str
    url: str
    start: int
    end: int
    references: list[str]
    text: str

    SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("url", pa.string(), nullable=False),
            pa.field("start", pa.int64(), nullable=False),
            pa.field("end", pa.int64(), nullable=False),
            pa.field("references", pa.list_(pa.string()), nullable=False),
            pa.field("text", pa.string(), nullable=False),
        ]
    )


def document_id(normalised_url: str) -> str:
    """Stable document id: the first 16 bytes of SHA-256 of the normalised URL, as hex."""
    return hashlib.sha256(normalised_url.encode("utf-8")).hexdigest()[:32]


Record = TypeVar("Record", UrlRecord, FetchRecord, Document, RemovedSpan)


def to_table(records: Iterable[Record], record_type: type[Record]) -> pa.Table:
    """Columnar table of ``records`` with ``record_type``'s schema (types are checked by Arrow).

    Built column by column with plain attribute reads: ``dataclasses.astuple`` deep-copies
    every field, which made writing a shard of long texts cost more than producing it.
    """
    rows = list(records)
    columns = [pa.array([getattr(row, field.name) for row in rows], type=field.type) for field in record_type.SCHEMA]
    return pa.Table.from_arrays(columns, schema=record_type.SCHEMA)


def with_nullable_columns(table: pa.Table, schema: pa.Schema, record_name: str) -> pa.Table:
    """``table`` with the nullable ``schema`` columns it lacks added as nulls.

    Shards written before a nullable column was added stay readable without a rewrite;
    a missing non-nullable column is still an error, since no value can stand in for it.
    """
    missing = [field for field in schema if field.name not in table.column_names]
    required = sorted(field.name for field in missing if not field.nullable)
    if required:
        raise ValueError(f"table lacks {record_name} columns: {required}")
    for field in missing:
        table = table.append_column(field, pa.nulls(table.num_rows, type=field.type))
    return table


def from_table(table: pa.Table, record_type: type[Record]) -> Iterator[Record]:
    """Records of ``record_type`` from a table with its schema's columns (nullable ones may be absent)."""
    table = with_nullable_columns(table, record_type.SCHEMA, record_type.__name__)
    for batch in table.select(record_type.SCHEMA.names).to_batches():
        for row in batch.to_pylist():
            yield record_type(**row)
