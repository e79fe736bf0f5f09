from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pipeline.shards
from pipeline.shards import (
    ShardReadError,
    ShardWriter,
    atomic_write_json,
    commit,
    complete_shards,
    fingerprint,
    is_complete,
    read_json,
    read_stats,
    read_table,
    remove_stale_temporaries,
    shard_name,
    stats_path,
    write_shard,
)

TABLE = pa.table({"url": ["http://a.test/", "http://b.test/"], "karma": [3, 9]})


def test_shard_names_are_deterministic() -> None:
    assert shard_name(42) == "part-00042.parquet"
    assert stats_path(Path("d/part-00042.parquet")) == Path("d/part-00042.stats.json")
    with pytest.raises(ValueError):
        shard_name(-1)


def test_written_shard_is_zstd_parquet_with_stats(tmp_path: Path) -> None:
    shard = tmp_path / shard_name(0)
    stats = write_shard(TABLE, shard, shard_fingerprint="f1", extra_stats={"dropped": 4})
    assert pq.read_table(shard).equals(TABLE)
    assert pq.ParquetFile(shard).metadata.row_group(0).column(0).compression == "ZSTD"
    assert stats == read_stats(shard)
    assert stats["rows"] == 2 and stats["dropped"] == 4 and stats["bytes"] == shard.stat().st_size
    assert is_complete(shard, "f1") and not is_complete(shard, "other-config")
    assert complete_shards(tmp_path) == [shard]


def test_same_input_gives_same_bytes(tmp_path: Path) -> None:
    first = write_shard(TABLE, tmp_path / "a" / shard_name(0), shard_fingerprint="f")
    second = write_shard(TABLE, tmp_path / "b" / shard_name(0), shard_fingerprint="f")
    assert first["sha256"] == second["sha256"]


def test_aborted_writer_leaves_no_shard(tmp_path: Path) -> None:
    shard = tmp_path / shard_name(1)
    with pytest.raises(RuntimeError):
        with ShardWriter(shard, TABLE.schema) as writer:
            writer.write(TABLE)
            raise RuntimeError("killed mid-shard")
    assert not shard.exists() and list(tmp_path.iterdir()) == []


def test_shard_without_stats_is_not_complete(tmp_path: Path) -> None:
    """A crash between renaming the shard and writing its stats means: redo the shard."""
    shard = tmp_path / shard_name(2)
    write_shard(TABLE, shard, shard_fingerprint="f")
    stats_path(shard).unlink()
    assert not is_complete(shard, "f")
    assert complete_shards(tmp_path) == []


def test_truncated_shard_is_not_complete(tmp_path: Path) -> None:
    shard = tmp_path / shard_name(3)
    write_shard(TABLE, shard, shard_fingerprint="f")
    shard.write_bytes(shard.read_bytes()[:-10])
    assert not is_complete(shard, "f")


def test_a_damaged_shard_is_named_when_read(tmp_path: Path) -> None:
    shard = tmp_path / shard_name(4)
    write_shard(TABLE, shard, shard_fingerprint="f")
    assert read_table(shard, columns=["karma"]).to_pydict() == {"karma": [3, 9]}
    data = shard.read_bytes()
    shard.write_bytes(data[:8] + b"\x00" * (len(data) - 16) + data[-8:])  # same size, same magic bytes, garbage inside
    with pytest.raises(ShardReadError, match=f"{shard_name(4)}: unreadable Parquet shard"):
        read_table(shard)
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / shard_name(5))


def test_half_written_json_reads_as_missing(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    target.write_text('{"rows": 1', encoding="utf-8")
    assert read_json(target) is None
    atomic_write_json(target, {"rows": 1})
    assert read_json(target) == {"rows": 1}


def test_stale_temporaries_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".part-00000.parquet.123.tmp").write_bytes(b"partial")
    assert remove_stale_temporaries(tmp_path) == 1
    assert list(tmp_path.iterdir()) == []


def test_fingerprint_depends_on_every_part() -> None:
    assert fingerprint({"a": 1}, "x") == fingerprint({"a": 1}, "x")
    assert fingerprint({"a": 1}, "x") != fingerprint({"a": 2}, "x")


def test_a_rewrite_killed_before_the_rename_leaves_no_stale_stats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shard = tmp_path / shard_name(0)
    write_shard(pa.table({"x": [1]}), shard, shard_fingerprint="old")

    def killed(temporary: Path, final: Path, **_: object) -> None:
        raise KeyboardInterrupt  # the process dies between removing the old stats and renaming the new file

    monkeypatch.setattr(pipeline.shards, "commit", killed)
    with pytest.raises(KeyboardInterrupt):
        write_shard(pa.table({"x": [1, 2]}), shard, shard_fingerprint="new")
    assert pq.read_table(shard).num_rows == 1 and not is_complete(shard, "old") and not is_complete(shard, "new")


def test_an_append_only_commit_never_replaces_a_file(tmp_path: Path) -> None:
    final, temporary = tmp_path / "part-00000-00000.warc.gz", tmp_path / ".part.tmp"
    final.write_bytes(b"archived")
    temporary.write_bytes(b"new")
    with pytest.raises(FileExistsError):
        commit(temporary, final, replace=False)
    assert final.read_bytes() == b"archived" and temporary.exists()
    commit(temporary, tmp_path / "part-00001-00000.warc.gz", replace=False)
    assert not temporary.exists()
