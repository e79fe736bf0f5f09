"""The harvest rules over a whole block at once: Arrow and NumPy operations on its columns.

The columns come straight from the block's bytes when the C scanner (``_ndjson.c``) is
built and sure of every line, else from msgspec's structs (:func:`struct_columns`); both
give the same arrays. :meth:`SubmissionClassifier.check` costs a Python call per
submission and a URL parse per distinct link; here each rule is one vectorised operation
over the block. The links of the common shape (lower-case ``http(s)://host/path``, no
fragment, port or escapes other than ``&amp;``, a query of plain ASCII) are split with
one RE2 match over the block, and their queries lose their tracking parameters with
Arrow's list kernels, as ``normalise_with_host`` does one link at a time; every other
link still goes through ``SubmissionClassifier.link_outcome``. The result is exactly what checking submission by
submission gives: the same outcome counts, the same kept rows in the same order. A block
whose values columns cannot hold as they are (a ``created_utc`` given as float or text, an
integer beyond 64 bits) has no columns and is checked submission by submission.
"""

from __future__ import annotations

import functools
from html.entities import html5
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.harvest.dumps import Block, block_parts
from pipeline.harvest.submissions import OUTCOMES, SPILL_SCHEMA, RawSubmission, bucket_of
from pipeline.urls import TRACKING_PARAMETERS, TRACKING_PREFIXES

try:
    from pipeline.harvest._ndjson import crc32_buckets as _crc32_buckets
    from pipeline.harvest._ndjson import submission_columns as _submission_columns
except ImportError:  # installed without a C compiler: every block takes msgspec's path
    _crc32_buckets = _submission_columns = None

if TYPE_CHECKING:
    from pipeline.harvest.submissions import SubmissionClassifier

# scheme://host/path?query in the shape whose normal form Arrow can build: lower-case scheme and host without port,
# user info or empty labels; a path of printable ASCII without "?", "#" (query, fragment) or "&" (HTML escapes); a
# query of printable ASCII without "#"; no whitespace anywhere, so stripping changes nothing either. The same in
# Python's re and RE2.
COMMON_LINK = (
    r"(?P<scheme>https?)://(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?P<path>/[!\"$%'->@-~]*)?"
    r"(?:\?(?P<query>[!\"$%-~]*))?"
)
_COMMON_LINK_RE2 = f"^{COMMON_LINK}$"
# In a common link's query once "&amp;" is "&", what html.unescape could still change, which such links leave to
# normalise_with_host: a ";" (that was not part of an "&amp;"), "&#", or an entity name valid without ";".
LEFT_ESCAPED = (
    ";|&(?:#|" + "|".join(sorted((name for name in html5 if not name.endswith(";")), key=len, reverse=True)) + ")"
)
# What path_extension takes from a path: what follows the last "." of its last segment.
_EXTENSION = r"\.(?P<extension>[^./]*)$"
_CODE = {outcome: code for code, outcome in enumerate(OUTCOMES)}  # "kept" is 0
_INT_OR_NONE = frozenset({int, type(None)})
# The fields the rules read (RawSubmission's), in the order the C scanner returns them.
FIELDS = {
    "id": pa.string(),
    "url": pa.string(),
    "subreddit": pa.string(),
    "score": pa.int64(),
    "created_utc": pa.int64(),
    "is_self": pa.bool_(),
    "over_18": pa.bool_(),
}
# The rules that need no link, in the order check applies them.
_SUBMISSION_RULES = ("bad_type", "missing_url", "self_post", "out_of_window", "nsfw")


def native_columns(block: bytes | Block) -> dict[str, pa.Array] | None:
    """The block's fields as Arrow columns, scanned by the C extension (``_ndjson.c``) straight from its bytes (a
    :class:`Block`'s parts where they are); ``None`` if the extension is not built or the block needs msgspec's path."""
    if _submission_columns is None:
        return None
    scanned = _submission_columns(block_parts(block))
    if scanned is None:
        return None
    rows, *fields = scanned
    return {
        # Arrow's own buffer order: validity, then offsets and data (strings) or values.
        name: pa.Array.from_buffers(kind, rows, [pa.py_buffer(part) for part in buffers])
        for (name, kind), buffers in zip(FIELDS.items(), fields)
    }


def struct_columns(decoded: list[RawSubmission]) -> dict[str, pa.Array] | None:
    """The same columns from msgspec's structs; ``None`` for a block the column rules cannot take as it is."""
    if not {type(raw.created_utc) for raw in decoded} <= _INT_OR_NONE:
        return None  # created_utc as float or text
    try:
        return {name: pa.array(list(map(attrgetter(name), decoded)), kind) for name, kind in FIELDS.items()}
    except OverflowError:  # an integer beyond 64 bits
        return None


def url_buckets(urls: pa.Array, n_buckets: int) -> np.ndarray:
    """:func:`bucket_of` each of ``urls`` (a string array without nulls), in C when the extension is built."""
    if _crc32_buckets is None or not len(urls):
        return np.array([bucket_of(url, n_buckets) for url in urls.to_pylist()], np.int32)
    _, offsets, data = urls.buffers()
    buckets = _crc32_buckets(offsets, b"" if data is None else data, urls.offset, len(urls), n_buckets)
    return np.frombuffer(buckets, np.int32)


def _is_true(column: pa.Array) -> np.ndarray:
    """Truth values as ``if value`` reads them (``None`` is false)."""
    return pc.fill_null(column, False).to_numpy(zero_copy_only=False)


def _submission_codes(columns: dict[str, pa.Array], classifier: SubmissionClassifier) -> np.ndarray:
    """The outcome code of the first submission rule each row fails (0: none)."""
    seconds = columns["created_utc"].fill_null(0).to_numpy()
    outside = np.zeros(len(seconds), dtype=bool)
    if classifier.after is not None:
        outside |= seconds < classifier.after
    if classifier.before is not None:
        outside |= seconds >= classifier.before
    failed = {
        "bad_type": pc.or_(
            pc.or_(columns["id"].is_null(), columns["score"].is_null()), columns["created_utc"].is_null()
        ),
        "missing_url": pc.fill_null(pc.equal(columns["url"], ""), True),
        "self_post": _is_true(columns["is_self"]),
        "out_of_window": outside,
        "nsfw": _is_true(columns["over_18"]) & (not classifier.allow_nsfw),
    }
    codes = np.zeros(len(seconds), dtype=np.int8)
    for rule in reversed(_SUBMISSION_RULES):  # the first rule that fails wins
        mask = failed[rule]
        codes[mask if isinstance(mask, np.ndarray) else mask.to_numpy(zero_copy_only=False)] = _CODE[rule]
    return codes


@functools.cache
def _tracking_names() -> pa.Array:
    return pa.array(sorted(TRACKING_PARAMETERS), pa.string())


def _clean_queries(queries: pa.Array) -> pa.Array:
    """Each query without its empty and tracking parameters, the rest in their order and spelling (``_clean_query``
    over a whole column)."""
    pieces = pc.split_pattern(queries, "&")
    flat = pieces.flatten()
    names = pc.ascii_lower(pc.extract_regex(flat, "^(?P<name>[^=]*)").field("name"))
    tracking = pc.is_in(names, value_set=_tracking_names())
    for prefix in TRACKING_PREFIXES:
        tracking = pc.or_(tracking, pc.starts_with(names, prefix))
    keep = pc.and_(pc.not_equal(flat, ""), pc.invert(tracking)).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(pieces).to_numpy()[keep]
    offsets = np.zeros(len(queries) + 1, dtype=np.int32)
    np.cumsum(np.bincount(parents, minlength=len(queries)), out=offsets[1:])
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), flat.filter(keep)), "&")


def _judge_common(urls: pa.Array, classifier: SubmissionClassifier) -> tuple[np.ndarray, pa.Array, pa.Array, pa.Array]:
    """For links of :data:`COMMON_LINK`'s shape: which they are, their outcome codes, normalised URLs and domains."""
    parts = pc.extract_regex(urls, _COMMON_LINK_RE2)
    common = parts.is_valid().to_numpy(zero_copy_only=False)
    queries = pc.replace_substring(parts.field("query").filter(common), "&amp;", "&")
    escaped = pc.match_substring_regex(queries, LEFT_ESCAPED).to_numpy(zero_copy_only=False)
    common[np.flatnonzero(common)[escaped]] = False
    parts, queries = parts.filter(common), queries.filter(~escaped)
    hosts, paths = parts.field("host"), parts.field("path")
    encoded = hosts.dictionary_encode()
    host_codes = np.array(
        [_CODE.get(classifier.host_outcome(host), 0) for host in encoded.dictionary.to_pylist()], dtype=np.int8
    )
    codes = host_codes[encoded.indices.to_numpy()] if len(host_codes) else np.zeros(0, dtype=np.int8)
    extensions = pc.ascii_lower(pc.extract_regex(paths, _EXTENSION).field("extension").fill_null(""))
    blocked = pc.is_in(extensions, value_set=pa.array(sorted(classifier.blocked_extensions), pa.string()))
    codes[(codes == 0) & blocked.to_numpy(zero_copy_only=False)] = _CODE["blocked_extension"]
    cleaned = _clean_queries(queries)
    queried = pc.binary_join_element_wise("?", cleaned, "")
    normalised = pc.binary_join_element_wise(
        parts.field("scheme"),
        "://",
        hosts,
        pc.if_else(pc.equal(paths, ""), "/", paths),
        pc.if_else(pc.equal(cleaned, ""), "", queried),
        "",
    )
    domains = pc.replace_substring_regex(hosts, pattern=r"^www\.", replacement="")
    return common, codes, normalised, domains


def classify_columns(
    columns: dict[str, pa.Array], classifier: SubmissionClassifier, n_buckets: int
) -> tuple[dict[str, int], pa.RecordBatch, dict[int, int]]:
    """Outcome counts of a block's columns and its kept rows as a batch of the spill schema, grouped by bucket (in
    the order each bucket first appears, rows in line order), with each bucket's row count."""
    codes = _submission_codes(columns, classifier)
    rows = np.flatnonzero(codes == 0)
    urls = columns["url"].take(rows)
    common, common_codes, common_urls, common_domains = _judge_common(urls, classifier)
    codes[rows[common]] = common_codes
    other_rows = rows[~common]
    other_links = [classifier.link_outcome(url) for url in urls.filter(~common).to_pylist()]
    codes[other_rows] = [0 if type(link) is tuple else _CODE[link] for link in other_links]
    other_kept = [link for link in other_links if type(link) is tuple]
    # Kept rows: the common ones, then the others, put back in line order.
    kept_common = common_codes == 0
    other_is_kept = np.array([type(link) is tuple for link in other_links], dtype=bool)
    kept_rows = np.concatenate([rows[common][kept_common], other_rows[other_is_kept]])
    order = np.argsort(kept_rows, kind="stable")
    normalised = pa.concat_arrays(
        [common_urls.filter(kept_common), pa.array([link[0] for link in other_kept], pa.string())]
    ).take(order)
    domains = pa.concat_arrays(
        [common_domains.filter(kept_common), pa.array([link[1] for link in other_kept], pa.string())]
    ).take(order)
    kept_rows = kept_rows[order]
    # Group by bucket, buckets in order of first appearance, rows within one in line order.
    buckets = url_buckets(normalised, n_buckets)
    present, first, inverse = np.unique(buckets, return_index=True, return_inverse=True)
    grouped = np.argsort(first[inverse], kind="stable")
    appearance = np.argsort(first)
    sizes = np.bincount(inverse, minlength=len(present))
    counts = {int(present[index]): int(sizes[index]) for index in appearance}
    taken = kept_rows[grouped]
    batch = pa.RecordBatch.from_arrays(
        [
            columns["id"].take(taken),
            normalised.take(grouped),
            domains.take(grouped),
            columns["score"].take(taken),
            columns["created_utc"].take(taken),
            pc.fill_null(columns["subreddit"].take(taken), ""),
        ],
        schema=SPILL_SCHEMA,
    )
    totals = np.bincount(codes, minlength=len(OUTCOMES))
    outcomes = {OUTCOMES[code]: int(total) for code, total in enumerate(totals) if total and code}
    if totals[0]:
        outcomes["kept"] = int(totals[0])
    return outcomes, batch, counts
