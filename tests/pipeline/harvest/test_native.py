"""The C scanner (``_ndjson.c``) against msgspec: what it accepts, msgspec decodes to the same columns; what it
is not sure of, it declines, and the block takes msgspec's path with unchanged results."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from pipeline.harvest import columns as columns_module
from pipeline.harvest.columns import native_columns, struct_columns, url_buckets
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.dumps import Block
from pipeline.harvest.parallel import classify_chunk
from pipeline.harvest.submissions import SubmissionClassifier, bucket_of
from pipeline.sample.reddit import pushshift_submission

pytestmark = pytest.mark.skipif(
    columns_module._submission_columns is None,
    reason="the C extension pipeline.harvest._ndjson is not built (installed without a C compiler)",
)

JAN_2019 = 1546300800
DECODER = SubmissionClassifier(HarvestConfig())


def record(index: int = 0, **overrides: object) -> dict:
    submission = pushshift_submission(
        id=f"id{index}",
        url=f"https://news{index % 7}.test/story/{index}?utm_source=x&amp;page={index}",
        score=index % 50,
        created_utc=JAN_2019 + index,
        subreddit="news",
        title=f'Story {index}: caf\u00e9, na\u00efve, \u65e5\u672c, \U0001f600 "quoted" back\\slash',
        is_self=index % 5 == 0,
        over_18=index % 11 == 0,
        rng=random.Random(index),
    )
    submission.update(overrides)
    return submission


def lines(records: list[dict], ensure_ascii: bool = False) -> bytes:
    return b"".join(json.dumps(item, ensure_ascii=ensure_ascii).encode() + b"\n" for item in records)


def msgspec_columns(block: bytes) -> dict[str, pa.Array] | None:
    decoded = DECODER.decode_block(block)
    return struct_columns(decoded) if decoded is not None else None


def assert_same_columns(block: bytes) -> dict[str, pa.Array]:
    native, expected = native_columns(block), msgspec_columns(block)
    assert native is not None and expected is not None
    assert list(native) == list(expected)
    for name in native:
        assert native[name].validate(full=True) is None
        assert native[name].equals(expected[name]), (name, native[name], expected[name])
    return native


@pytest.mark.parametrize("ensure_ascii", [False, True], ids=["utf8", "escaped"])
def test_real_shaped_records_scan_to_msgspecs_columns(ensure_ascii: bool) -> None:
    records = [record(index) for index in range(300)]
    records[7]["url"] = 'https://news.test/caf\u00e9/\U0001f600?q="x"\\y\n\t/'
    records[8]["subreddit"] = None
    records[9]["score"] = None
    del records[10]["is_self"], records[10]["over_18"], records[10]["url"]
    columns = assert_same_columns(lines(records, ensure_ascii))
    assert columns["id"].to_pylist()[:2] == ["id0", "id1"]
    assert columns["url"][7].as_py() == records[7]["url"]
    assert columns["subreddit"][8].as_py() is None and columns["score"][9].as_py() is None
    assert columns["url"][10].as_py() is None and columns["is_self"][10].as_py() is None


@pytest.mark.parametrize(
    "line",
    [
        b"{}",
        b'  {"id" : "a" , "score":-0,"created_utc" :  0 }  ',
        b'{"id":"a","score":9223372036854775807,"created_utc":-9223372036854775808}',
        b'{"id":"a\\u00e9\\ud83d\\ude00\\/\\"\\\\\\b\\f\\n\\r\\t","url":"","subreddit":""}',
        b'{"id":null,"url":null,"subreddit":null,"score":null,"created_utc":null,"is_self":null,"over_18":null}',
        b'{"is_self":true,"over_18":false,"nested":{"id":5,"url":[1,2.5e-3,{"x":null}]},"id":"top"}',
        b'{"id":"x","\xc3\xa9t\xc3\xa9":"\xf0\x9f\x98\x80","other":[[[[]]]],"n":-1.5E+10}',
        b'{"id":"x"}\r',
        b'{"id":"\\u0000\\uffff","skipped":[1e999999,-0.0e-99999,123456789012345678901234567890]}',
        b'{"x":' + b"[" * 30 + b"]" * 30 + b',"id":"\xef\xbf\xbf"}',
        # msgspec checks UTF-8 only in what it decodes: invalid bytes in skipped strings and keys pass
        b'{"title":"\xff\xc0\xaf\xed\xa0\x80\xc3","t\xff":"\xf4\x90\x80\x80","id":"ok"}',
    ],
)
def test_edge_values_scan_to_msgspecs_columns(line: bytes) -> None:
    assert_same_columns(line + b"\n")
    assert_same_columns(line)  # the last line of a block may lack its newline


@pytest.mark.parametrize(
    "line",
    [
        b"",  # blank line
        b"   ",
        b'{"id":"a"',  # cut off
        b'{"id":"a",}',  # trailing comma
        b"{'id':'a'}",
        b'{"id":"a"} {"id":"b"}',  # two objects on one line
        b'{"id":"a"},{"id":"b"}',
        b'["id"]',
        b"null",
        b'{"score":NaN}',
        b'{"score":01}',
        b'{"score":+1}',
        b'{"x":1.}',
        b'{"x":.5}',
        b'{"x":1e}',
        b'{"x":"tab\there"}',  # a raw control character
        b'{"x":"\\x41"}',
        b'{"id":"\\ud800"}',  # lone surrogates
        b'{"id":"\\udc00x"}',
        b'{"url":"\xff"}',  # invalid UTF-8 in a field it reads: overlong, an encoded surrogate, past U+10FFFF
        b'{"id":"\xc0\xaf"}',
        b'{"subreddit":"a\xed\xa0\x80"}',
        b'{"id":"\xf4\x90\x80\x80"}',
        b'{"id":"\xc3"}',
        b'{"x":tru}',
        b'{"score":1.0}',  # a field of another type
        b'{"score":"5"}',
        b'{"id":5}',
        b'{"is_self":1}',
        b'{"url":["a"]}',
        b'{"created_utc":1546300800.5}',  # float or text created_utc: the per-record path reads those
        b'{"created_utc":"1546300800"}',
        b'{"score":9223372036854775808}',  # beyond 64 bits
        b'{"score":-9223372036854775809}',
        b'{"score":123456789012345678901234567890}',
        b'{"id":"a","id":"b"}',  # a repeated field
        b'{"\\u0069d":"a"}',  # an escaped key
        b'{"x":' + b"[" * 40 + b"]" * 40 + b"}",  # deep nesting
    ],
)
def test_what_it_is_not_sure_of_is_declined(line: bytes) -> None:
    good = lines([record(1)])
    assert native_columns(good + line + b"\n" + good) is None


RACE = """
from concurrent.futures import ThreadPoolExecutor
from pipeline.harvest.columns import native_columns
line = open({path!r}, "rb").read()
with ThreadPoolExecutor(4) as pool:
    for _ in range(5):
        assert all(columns is not None for columns in pool.map(native_columns, [line] * 4000))
print("ok")
"""


def test_threads_scan_at_once(tmp_path: Path) -> None:
    """The scan runs without the GIL (the harvest's main process scans while its pool's threads run), so its buffers
    must come from an allocator that needs none: with pymalloc's, threads scanning small blocks at once crashed the
    process. Run apart, so such a crash fails this test and not the session."""
    block = tmp_path / "line.ndjson"
    block.write_bytes(lines([record(1)]))
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", RACE.format(path=str(block))],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=120,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr[-2000:]


def test_a_declined_block_classifies_as_it_did_before() -> None:
    records = [record(index) for index in range(40)]
    block = lines(records[:20]) + b'{"id": "broken"\n' + lines(records[20:])
    assert native_columns(block) is None
    lines_seen, outcomes, batch, _ = classify_chunk(block, SubmissionClassifier(HarvestConfig()), 4)
    assert lines_seen == 41 and outcomes["malformed_json"] == 1 and batch.num_rows == outcomes["kept"] > 0


def test_the_extension_changes_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the extension (no scanner, no C CRC-32) a block gives the same counts, rows and buckets."""
    records = [record(index) for index in range(500)]
    records[101]["url"] = "https://www.reddit.com/r/x/"
    records[102]["url"] = "mailto:x@y.test"
    block = lines(records)
    cfg = HarvestConfig(after="2019-01-01T00:01:00", allow_nsfw=False)
    assert native_columns(block) is not None
    scanned = classify_chunk(block, SubmissionClassifier(cfg), 8)
    monkeypatch.setattr(columns_module, "_submission_columns", None)
    monkeypatch.setattr(columns_module, "_crc32_buckets", None)
    decoded = classify_chunk(block, SubmissionClassifier(cfg), 8)
    lines_seen, outcomes, batch, counts = scanned
    assert (lines_seen, outcomes, counts) == (decoded[0], decoded[1], decoded[3])
    assert batch.equals(decoded[2])
    assert {"kept", "self_post", "reddit_link", "not_http", "out_of_window"} <= set(outcomes)


# Bytes a mutation puts in: JSON's structure, escapes, digits, non-ASCII and invalid UTF-8.
MUTATIONS = [*b'{}[]:,"\\ -+.eE0123456789tfnul/', 0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xF0, 0xFF]


def test_mutated_lines_are_read_as_msgspec_reads_them_or_declined() -> None:
    """Random one- to three-byte edits of real-shaped lines: whatever the scanner accepts, msgspec decodes to the
    same columns. Edits that stay valid JSON (inside strings and skipped fields) are common, so acceptance is too."""
    rng = random.Random(27)
    base = [json.dumps(record(index), ensure_ascii=index % 2 == 0).encode() for index in range(20)]
    accepted = 0
    for _ in range(3000):
        line = bytearray(rng.choice(base))
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(line))
            action = rng.random()
            if action < 0.4:
                line[position] = rng.choice(MUTATIONS)
            elif action < 0.7:
                line.insert(position, rng.choice(MUTATIONS))
            else:
                del line[position]
        block = bytes(line) + b"\n"
        native = native_columns(block)
        if native is None:
            continue
        accepted += 1
        expected = msgspec_columns(block)
        assert expected is not None, block
        for name in native:
            assert native[name].equals(expected[name]), (block, name)
    assert accepted > 1000


def test_url_buckets_are_zlib_crc32_buckets_of_every_string() -> None:
    """The C CRC-32 gives each URL the bucket ``bucket_of`` gives it: lengths around its eight-byte steps, UTF-8,
    empty strings, slices that start inside the array, and bucket counts up to the largest allowed."""
    rng = random.Random(5)
    alphabet = "abc/?=&%.-_é€日😀"
    urls = [
        "https://news.test/" + "".join(rng.choice(alphabet) for _ in range(length))
        for length in [*range(0, 40), *rng.choices(range(40, 600), k=400)]
    ]
    urls += ["", "x", "https://café.test/menü?q=1"]
    array = pa.array(urls, pa.string())
    for n_buckets in (1, 16, 1000, 65536):
        for part in (array, array.slice(13, 200), array.slice(len(array) - 1), pa.array(["", ""], pa.string())):
            expected = [bucket_of(url, n_buckets) for url in part.to_pylist()]
            assert url_buckets(part, n_buckets).tolist() == expected


def test_url_buckets_refuse_offsets_outside_their_data() -> None:
    """Buffers that do not hold what they claim are an error, never a read beyond them."""
    crc32_buckets = columns_module._crc32_buckets
    offsets = np.array([0, 4, 100], np.int32).tobytes()
    with pytest.raises(ValueError, match="offsets of row 1 outside the data"):
        crc32_buckets(offsets, b"abcdefgh", 0, 2, 16)
    with pytest.raises(ValueError, match="out of range"):
        crc32_buckets(offsets, b"abcdefgh", 1, 2, 16)  # three offsets cannot hold rows 1 and 2
    with pytest.raises(ValueError, match="out of range"):
        crc32_buckets(offsets, b"abcdefgh", 0, 1, 0)
    backwards = np.array([4, 0], np.int32).tobytes()
    with pytest.raises(ValueError, match="outside the data"):
        crc32_buckets(backwards, b"abcdefgh", 0, 1, 16)


def random_parts(block: bytes, rng: random.Random) -> Block:
    """``block`` cut at random places, some of them next to each other (empty parts), some at line ends."""
    ends = [index + 1 for index, byte in enumerate(block) if byte == 0x0A]
    cuts = sorted(
        rng.sample(range(len(block) + 1), min(len(block) + 1, rng.randint(0, 12)))
        + rng.sample(ends, min(len(ends), rng.randint(0, 3)))
    )
    pieces = [block[start:end] for start, end in zip([0, *cuts], [*cuts, len(block)])]
    return Block(memoryview(piece) if rng.random() < 0.5 else piece for piece in pieces)


def test_a_block_in_parts_scans_as_the_joined_block() -> None:
    """The decompressor's pieces are scanned where they are, a line cut between pieces from a copy of it: whatever
    the cuts, the columns (or the decline) are those of the joined block."""
    rng = random.Random(11)
    good = lines([record(index) for index in range(40)], ensure_ascii=False)
    blocks = [
        good,
        good.rstrip(b"\n"),  # the last line without its newline
        good + b"\n",  # a blank last line
        good.replace(b"\n", b"\n   \n", 1),  # a blank line inside
        good[:-300],  # cut off inside the last line
        lines([record(1)]) + b'{"id":"a"} x\n' + lines([record(2)]),  # junk after a complete object
    ]
    for block in blocks:
        expected = native_columns(block)
        for _ in range(80):
            parts = random_parts(block, rng)
            scanned = native_columns(parts)
            assert (scanned is None) == (expected is None), (block[:60], [bytes(part) for part in parts.parts])
            if expected is not None:
                assert scanned is not None
                for name in expected:
                    assert scanned[name].equals(expected[name]), name
    assert native_columns(Block([])) is None and native_columns(Block([b"", b""])) is None  # an empty block


def test_a_part_that_ends_where_an_object_ends_is_not_a_line_end() -> None:
    """A complete object at the end of a part is not a whole line until the line's end is seen: what follows it in
    the next part decides, as in the joined block."""
    first = json.dumps(record(1)).encode()
    assert native_columns(Block([first, b"\n" + lines([record(2)])])) is not None
    assert native_columns(Block([first, b" junk\n" + lines([record(2)])])) is None
    assert native_columns(Block([first, b"", b"  ", b"\n"])) is not None
