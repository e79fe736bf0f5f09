from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard

from pipeline.harvest.dumps import CorruptDumpError, DumpSource, dump_name
from pipeline.sample.reddit import ndjson_lines, pushshift_submission, write_dump

RECORDS = [
    pushshift_submission(
        id=f"s{index}",
        url=f"https://site{index % 7}.test/a/{index}",
        score=index % 11,
        created_utc=1546300800 + index,
        subreddit="news",
        title=f"Story {index}",
    )
    for index in range(3000)
]


@pytest.mark.parametrize("suffix", [".zst", ".bz2", ".xz", ".ndjson"])
def test_every_compression_streams_every_line(tmp_path: Path, suffix: str) -> None:
    path = write_dump(tmp_path / f"RS_2019-01{suffix}", ndjson_lines(RECORDS))
    positions: list[int] = []
    lines = list(DumpSource(path).lines(positions.append))
    assert [json.loads(line)["id"] for line in lines] == [record["id"] for record in RECORDS]
    assert positions[-1] == path.stat().st_size  # progress ends at the file's size


def test_zstd_dumps_use_long_window_frames(tmp_path: Path) -> None:
    """The real dumps need a 2 GiB window: a default decoder refuses them, ours reads them."""
    path = write_dump(tmp_path / "RS_2019-01.zst", ndjson_lines(RECORDS[:10]))
    assert zstandard.get_frame_parameters(path.read_bytes()).window_size == 2**31
    with pytest.raises(zstandard.ZstdError):
        zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    assert len(list(DumpSource(path).lines())) == 10


def test_zstd_with_several_frames(tmp_path: Path) -> None:
    compressor = zstandard.ZstdCompressor()
    path = tmp_path / "RS_multi.zst"
    path.write_bytes(compressor.compress(b'{"id":"a"}\n') + compressor.compress(b'{"id":"b"}\n{"id":"c"}\n'))
    assert [json.loads(line)["id"] for line in DumpSource(path).lines()] == ["a", "b", "c"]


@pytest.mark.parametrize("suffix", [".zst", ".bz2", ".xz"])
def test_truncated_dump_is_an_error_naming_the_file(tmp_path: Path, suffix: str) -> None:
    path = write_dump(tmp_path / f"RS_2019-02{suffix}", ndjson_lines(RECORDS))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptDumpError, match="RS_2019-02") as caught:
        for _ in DumpSource(path).lines():
            pass
    assert caught.value.path == path


@pytest.mark.parametrize("suffix", [".zst", ".bz2", ".xz"])
def test_a_truncated_dump_delivers_its_whole_lines_before_the_error(tmp_path: Path, suffix: str) -> None:
    """The readable half of a dump smaller than one block still arrives, line for line, before the error: a block
    cut short by the failure is not dropped."""
    path = write_dump(tmp_path / f"RS_2019-02{suffix}", ndjson_lines(RECORDS))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    lines: list[bytes] = []
    with pytest.raises(CorruptDumpError):
        for line in DumpSource(path).lines():
            lines.append(line)
    ids = [json.loads(line)["id"] for line in lines]
    assert len(RECORDS) // 4 < len(ids) < len(RECORDS)
    assert ids == [record["id"] for record in RECORDS[: len(ids)]]  # whole lines, in order, none cut off


@pytest.mark.parametrize("suffix", [".zst", ".bz2", ".xz"])
def test_garbage_in_a_compressed_dump_is_an_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"RS_bad{suffix}"
    path.write_bytes(b"this was never compressed data" * 100)
    with pytest.raises(CorruptDumpError, match="RS_bad"):
        list(DumpSource(path).lines())


def test_missing_dump_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="RS_missing.zst"):
        DumpSource(tmp_path / "RS_missing.zst")


def test_empty_dump_has_no_lines(tmp_path: Path) -> None:
    path = tmp_path / "RS_empty.zst"
    path.write_bytes(b"")
    assert list(DumpSource(path).lines()) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("RS_2019-05.zst", "RS_2019-05"),
        ("RS_2011-01.bz2", "RS_2011-01"),
        ("sub.ndjson.xz", "sub"),
        ("plain.jsonl", "plain"),
        ("RS_v2_2008-01.xz", "RS_v2_2008-01"),
    ],
)
def test_dump_names_drop_suffixes(name: str, expected: str) -> None:
    assert dump_name(Path(name)) == expected


def test_blocks_end_at_line_ends_and_lose_nothing() -> None:
    """However the decompressor cuts its output, blocks hold whole lines and every byte once, in the decompressor's
    own pieces (or views of them): nothing is copied."""
    import random

    from pipeline.harvest.dumps import whole_line_blocks

    rng = random.Random(3)
    data = b"".join(b"line%d-" % index + b"x" * rng.randrange(80) + b"\n" for index in range(4000)) + b"no-newline"
    for _ in range(40):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randrange(1, 50)))
        pieces = [data[start:end] for start, end in zip([0, *cuts], [*cuts, len(data)])]
        held = list(whole_line_blocks(iter(pieces), rng.choice([1, 100, 5000, 10**6])))
        sources = [part.obj if isinstance(part, memoryview) else part for block in held for part in block.parts]
        assert all(any(source is piece for piece in pieces) for source in sources)
        blocks = [bytes(block) for block in held]
        assert [len(block) for block in held] == [len(block) for block in blocks]
        assert b"".join(blocks) == data
        assert all(block.endswith(b"\n") for block in blocks[:-1])
