"""A docs shard's documents as the decontaminate stage reads and writes them: Arrow columns, not records.

Most documents pass the stage with only their text (masked) and ``overlap_score`` changed, so the output
shard is the input's table with those two columns replaced and the dropped rows left out, instead of
every row turned into a ``Document`` and back (which cost more than finding the overlaps). The bytes
written are the same: the values are, and the columns have ``Document.SCHEMA``'s types and order.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from pipeline.records import Document, RemovedSpan, from_table, to_table, with_nullable_columns


def document_columns(table: pa.Table) -> pa.Table:
    """``table`` (a docs shard) with exactly ``Document.SCHEMA``'s columns: nullable ones it lacks as nulls, and
    other column types converted as a round trip through ``Document`` records converts them."""
    table = with_nullable_columns(table, Document.SCHEMA, Document.__name__).select(Document.SCHEMA.names)
    if table.schema.equals(Document.SCHEMA):
        return table
    return to_table(from_table(table, Document), Document)


def document_at(table: pa.Table, position: int) -> Document:
    """The document in row ``position`` of a ``document_columns`` table (a reject)."""
    return next(from_table(table.slice(position, 1), Document))


def kept_documents(
    table: pa.Table, positions: Sequence[int], texts: Sequence[str], scores: Sequence[float]
) -> pa.Table:
    """The rows at ``positions`` of a ``document_columns`` table, with their new texts and overlap scores."""
    replaced = {"text": pa.array(texts, type=pa.string()), "overlap_score": pa.array(scores, type=pa.float32())}
    kept = table.drop_columns(list(replaced))  # not copied: replaced
    if len(positions) < table.num_rows:
        kept = kept.take(pa.array(positions, type=pa.int64()))
    columns = [replaced[name] if name in replaced else kept[name].combine_chunks() for name in Document.SCHEMA.names]
    return pa.Table.from_arrays(columns, schema=Document.SCHEMA)


def removed_spans(
    doc_id: str, url: str, text: str, found: dict[str, list[tuple[int, int]]], removed: list[tuple[int, int]]
) -> list[RemovedSpan]:
    """A ``removed_span`` reject per span cut from ``text``, naming the references whose n-grams (``found``) it held."""
    rows = []
    for start, end in removed:
        names = sorted(name for name, spans in found.items() if any(s < end and e > start for s, e in spans))
        rows.append(RemovedSpan(doc_id, url, start, end, names, text[start:end]))
    return rows
