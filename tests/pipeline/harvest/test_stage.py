from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.harvest import aggregate
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.dumps import CorruptDumpError, DumpSource
from pipeline.harvest.parallel import ChunkClassifier
from pipeline.harvest.stage import SCAN_DIR, run_harvest
from pipeline.records import UrlRecord
from pipeline.sample.reddit import ndjson_lines, pushshift_submission, write_dump
from pipeline.shards import complete_shards, file_sha256
from pipeline.stage import SUMMARY_FILE


def sample_config(manifest: dict[str, Any], **overrides: Any) -> HarvestConfig:
    return HarvestConfig(
        after=manifest["window"]["after"], before=manifest["window"]["before"], n_buckets=4, **overrides
    )


def harvested(out_dir: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(shard) for shard in complete_shards(out_dir)])


def shard_hashes(out_dir: Path) -> dict[str, str]:
    return {shard.name: file_sha256(shard) for shard in complete_shards(out_dir)}


def test_sample_harvest_matches_what_the_sample_planted(sample: tuple[Path, dict], tmp_path: Path) -> None:
    directory, manifest = sample
    dumps = [DumpSource(path) for path in (directory / name for name in manifest["dumps"])]
    blocklists = tuple(directory / name for name in manifest["blocklists"])
    summary = run_harvest(dumps, tmp_path, sample_config(manifest, blocklists=blocklists))
    table = harvested(tmp_path)
    assert table.schema == UrlRecord.SCHEMA
    assert dict(zip(table["url"].to_pylist(), table["karma"].to_pylist())) == manifest["expected"]["urls"]
    assert summary.outcomes == manifest["expected"]["outcomes"]
    assert summary.counts["duplicate_submissions"] == manifest["expected"]["duplicate_submissions"]
    assert summary.counts["urls_kept"] == len(manifest["expected"]["urls"])
    assert json.loads((tmp_path / SUMMARY_FILE).read_text()) == json.loads(json.dumps(summary.as_json(), default=str))


def test_the_sample_blocklist_drops_only_links_below_karma(sample: tuple[Path, dict], tmp_path: Path) -> None:
    """The sample's blocklisted links score below min_karma: without the list the same URLs are kept."""
    directory, manifest = sample
    dumps = [DumpSource(directory / name) for name in manifest["dumps"]]
    summary = run_harvest(dumps, tmp_path, sample_config(manifest))
    expected = dict(manifest["expected"]["outcomes"])
    listed = expected.pop("blocklisted:sample")
    assert listed >= 4 and summary.outcomes == {**expected, "kept": expected["kept"] + listed}
    table = harvested(tmp_path)
    assert dict(zip(table["url"].to_pylist(), table["karma"].to_pylist())) == manifest["expected"]["urls"]


def test_karma_is_summed_across_spellings_and_months(sample: tuple[Path, dict], tmp_path: Path) -> None:
    directory, manifest = sample
    run_harvest([DumpSource(directory / name) for name in manifest["dumps"]], tmp_path, sample_config(manifest))
    rows = {row["url"]: row for row in harvested(tmp_path).to_pylist()}
    first = rows["http://news.webtext.test/2019/01/03/urban-beekeeping-on-the-roof"]
    assert first["n_submissions"] == 3  # one plain, one with tracking + &amp; (seen in both months, once)
    assert len(set(first["submission_ids"])) == 3 and first["karma"] == 8
    assert first["first_seen"].tzinfo is not None
    assert all(row["subreddits"] for row in rows.values())


def test_output_shards_are_sorted_and_partitioned(sample_dumps: list[Path], tmp_path: Path) -> None:
    run_harvest([DumpSource(path) for path in sample_dumps], tmp_path, HarvestConfig(n_buckets=4))
    for shard in complete_shards(tmp_path):
        urls = pq.read_table(shard)["url"].to_pylist()
        assert urls == sorted(urls)
    assert len(complete_shards(tmp_path)) == 4


def test_rerun_skips_finished_work_and_gives_the_same_bytes(sample_dumps: list[Path], tmp_path: Path) -> None:
    sources = [DumpSource(path) for path in sample_dumps]
    run_harvest(sources, tmp_path, HarvestConfig(n_buckets=4))
    before = shard_hashes(tmp_path)
    scan_marker = tmp_path / SCAN_DIR / sources[0].name / "scan.json"
    marker_mtime = scan_marker.stat().st_mtime_ns
    again = run_harvest(sources, tmp_path, HarvestConfig(n_buckets=4))
    assert again.units_skipped == 4
    assert shard_hashes(tmp_path) == before
    assert scan_marker.stat().st_mtime_ns == marker_mtime


def test_changing_min_karma_reaggregates_without_rescanning(sample_dumps: list[Path], tmp_path: Path) -> None:
    sources = [DumpSource(path) for path in sample_dumps]
    run_harvest(sources, tmp_path, HarvestConfig(n_buckets=4))
    marker = tmp_path / SCAN_DIR / sources[0].name / "scan.json"
    mtime = marker.stat().st_mtime_ns
    stricter = run_harvest(sources, tmp_path, HarvestConfig(n_buckets=4, min_karma=10))
    assert stricter.units_skipped == 0 and marker.stat().st_mtime_ns == mtime
    assert min(harvested(tmp_path)["karma"].to_pylist()) >= 10


def test_changing_bucket_count_leaves_no_stale_shards(sample_dumps: list[Path], tmp_path: Path) -> None:
    sources = [DumpSource(path) for path in sample_dumps]
    first = run_harvest(sources, tmp_path, HarvestConfig(n_buckets=8))
    second = run_harvest(sources, tmp_path, HarvestConfig(n_buckets=3))
    assert len(complete_shards(tmp_path)) == 3 and len(list(tmp_path.glob("part-*"))) == 6
    assert harvested(tmp_path).num_rows == first.counts["urls_kept"] == second.counts["urls_kept"]


def test_a_new_month_is_scanned_alone(sample_dumps: list[Path], tmp_path: Path) -> None:
    january, february = (DumpSource(path) for path in sample_dumps)
    run_harvest([january], tmp_path, HarvestConfig(n_buckets=4))
    marker = tmp_path / SCAN_DIR / january.name / "scan.json"
    mtime = marker.stat().st_mtime_ns
    both = run_harvest([january, february], tmp_path, HarvestConfig(n_buckets=4))
    assert marker.stat().st_mtime_ns == mtime
    assert (tmp_path / SCAN_DIR / february.name / "scan.json").exists()
    assert [source["source"] for source in both.details["sources"]] == [january.name, february.name]


class CrashingSource:
    """A dump that dies (like a killed process) after ``crash_after`` lines."""

    def __init__(self, inner: DumpSource, crash_after: int) -> None:
        self.inner, self.name, self.crash_after = inner, inner.name, crash_after

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    def size(self) -> int:
        return self.inner.size()

    def chunks(self, advance: Any = None) -> Iterator[bytes]:
        for count, line in enumerate(self.inner.lines(), 1):
            if count > self.crash_after:
                raise KeyboardInterrupt("killed mid-scan")
            yield line + b"\n"


def test_killed_scan_resumes_to_identical_output(sample_dumps: list[Path], tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    run_harvest([DumpSource(path) for path in sample_dumps], clean, HarvestConfig(n_buckets=4))
    resumed = tmp_path / "resumed"
    january, february = (DumpSource(path) for path in sample_dumps)
    with pytest.raises(KeyboardInterrupt):
        run_harvest([january, CrashingSource(february, 10)], resumed, HarvestConfig(n_buckets=4))
    assert complete_shards(resumed) == []
    assert not (resumed / SCAN_DIR / february.name).exists()
    run_harvest([january, february], resumed, HarvestConfig(n_buckets=4))
    assert shard_hashes(resumed) == shard_hashes(clean)


def test_killed_aggregation_resumes_to_identical_output(
    sample_dumps: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = [DumpSource(path) for path in sample_dumps]
    run_harvest(sources, tmp_path / "clean", HarvestConfig(n_buckets=4))
    real_write, written = aggregate.write_shard, []

    def write_then_die(*args: Any, **kwargs: Any) -> Any:
        if len(written) == 2:
            raise KeyboardInterrupt("killed mid-aggregation")
        written.append(args[1])
        return real_write(*args, **kwargs)

    monkeypatch.setattr(aggregate, "write_shard", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_harvest(sources, tmp_path / "resumed", HarvestConfig(n_buckets=4))
    monkeypatch.setattr(aggregate, "write_shard", real_write)
    resumed = run_harvest(sources, tmp_path / "resumed", HarvestConfig(n_buckets=4))
    assert resumed.units_skipped == 2
    assert shard_hashes(tmp_path / "resumed") == shard_hashes(tmp_path / "clean")


def corrupt_copy(dump: Path, directory: Path) -> Path:
    broken = directory / dump.name.replace("RS_", "RS_broken-")
    broken.write_bytes(dump.read_bytes()[: dump.stat().st_size * 2 // 3])
    return broken


def test_corrupt_dump_fails_loudly_and_keeps_finished_scans(sample_dumps: list[Path], tmp_path: Path) -> None:
    broken = corrupt_copy(sample_dumps[1], tmp_path)
    good = DumpSource(sample_dumps[0])
    with pytest.raises(CorruptDumpError, match=broken.name):
        run_harvest([good, DumpSource(broken)], tmp_path / "out", HarvestConfig(n_buckets=4))
    assert (tmp_path / "out" / SCAN_DIR / good.name / "scan.json").exists()


def test_corrupt_dump_can_be_skipped_and_reported(tmp_path: Path) -> None:
    records = [
        pushshift_submission(
            id=f"s{index}",
            url=f"https://site{index % 50}.test/",
            score=2,
            created_utc=1546300800 + index,
            subreddit="news",
        )
        for index in range(5000)
    ]
    broken = corrupt_copy(write_dump(tmp_path / "RS_2019-01.zst", ndjson_lines(records)), tmp_path)
    summary = run_harvest([DumpSource(broken)], tmp_path / "out", HarvestConfig(n_buckets=4, skip_corrupt=True))
    (source,) = summary.details["sources"]
    assert "corrupt or truncated" in source["corrupt"] and broken.name in source["corrupt"]
    assert 0 < source["lines"] and summary.counts["urls_kept"] > 0


def test_sources_with_the_same_name_are_refused(sample_dumps: list[Path], tmp_path: Path) -> None:
    twin_dir = tmp_path / "elsewhere"
    twin_dir.mkdir()
    twin = twin_dir / sample_dumps[0].name
    twin.write_bytes(sample_dumps[0].read_bytes())
    with pytest.raises(ValueError, match="share the name"):
        run_harvest([DumpSource(sample_dumps[0]), DumpSource(twin)], tmp_path / "out", HarvestConfig())


def test_no_sources_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a submission source"):
        run_harvest([], tmp_path, HarvestConfig())


def test_same_submission_in_two_dumps_counts_once_with_its_best_score(tmp_path: Path) -> None:
    base = dict(url="https://a.test/x", created_utc=1546300800, subreddit="news")
    early = write_dump(tmp_path / "RS_early.ndjson", ndjson_lines([pushshift_submission(id="s1", score=2, **base)]))
    late = write_dump(tmp_path / "RS_late.ndjson", ndjson_lines([pushshift_submission(id="s1", score=9, **base)]))
    summary = run_harvest([DumpSource(early), DumpSource(late)], tmp_path / "out", HarvestConfig(n_buckets=1))
    (row,) = harvested(tmp_path / "out").to_pylist()
    assert row["karma"] == 9 and row["n_submissions"] == 1 and summary.counts["duplicate_submissions"] == 1


def many_submissions(count: int) -> list[dict[str, Any]]:
    return [
        pushshift_submission(
            id=f"p{index}",
            url=f"https://site{index % 300}.test/story/{index % 900}",
            score=index % 5,
            created_utc=1546300800 + index,
            subreddit=f"sub{index % 7}",
            is_self=index % 10 == 0,
        )
        for index in range(count)
    ]


@pytest.fixture
def blocks_to_workers_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks go to the workers from the first one on (a dump this small is otherwise classified by the main
    process before any worker has started), 4 MB each, so that a small dump makes several."""
    chunks = DumpSource.chunks
    monkeypatch.setattr(ChunkClassifier, "_workers_started", lambda self: True)
    monkeypatch.setattr(DumpSource, "chunks", lambda self, advance: chunks(self, advance, chunk_bytes=4 << 20))


@pytest.mark.usefixtures("blocks_to_workers_at_once")
def test_worker_processes_give_the_same_shards_as_one_process(tmp_path: Path) -> None:
    """The multi-process path (shared-memory blocks, Arrow IPC results) must not change a byte."""
    dump = write_dump(tmp_path / "RS_big.zst", ndjson_lines(many_submissions(6000)))  # three blocks of at most 4 MB
    one = run_harvest([DumpSource(dump)], tmp_path / "one", HarvestConfig(n_buckets=4, workers=1))
    two = run_harvest([DumpSource(dump)], tmp_path / "two", HarvestConfig(n_buckets=4, workers=2))
    assert one.outcomes == two.outcomes and one.counts["lines"] == two.counts["lines"] == 6000
    assert shard_hashes(tmp_path / "one") == shard_hashes(tmp_path / "two")


@pytest.mark.usefixtures("blocks_to_workers_at_once")
def test_worker_processes_keep_what_a_truncated_dump_delivered(tmp_path: Path) -> None:
    dump = write_dump(tmp_path / "RS_big.zst", ndjson_lines(many_submissions(6000)))
    broken = corrupt_copy(dump, tmp_path)
    cfg = HarvestConfig(n_buckets=4, workers=2, skip_corrupt=True)
    summary = run_harvest([DumpSource(broken)], tmp_path / "out", cfg)
    assert summary.details["sources"][0]["corrupt"] and 2000 < summary.counts["lines"] < 6000
    assert sum(summary.outcomes.values()) == summary.counts["lines"]


def test_a_folder_keeps_what_it_harvested(sample_dumps: list[Path], tmp_path: Path) -> None:
    january, february = (DumpSource(path) for path in sample_dumps)
    both = run_harvest([january, february], tmp_path / "both", HarvestConfig(n_buckets=4))
    run_harvest([january], tmp_path / "grown", HarvestConfig(n_buckets=4))
    grown = run_harvest([february], tmp_path / "grown", HarvestConfig(n_buckets=4))  # January is not listed
    assert shard_hashes(tmp_path / "grown") == shard_hashes(tmp_path / "both")
    assert grown.counts == both.counts and grown.outcomes == both.outcomes
    again = run_harvest([january], tmp_path / "grown", HarvestConfig(n_buckets=4))  # already harvested: a no-op
    assert again.units_skipped == 4 and shard_hashes(tmp_path / "grown") == shard_hashes(tmp_path / "both")
    rebuilt = run_harvest([], tmp_path / "grown", HarvestConfig(n_buckets=4, min_karma=10))  # no source: re-aggregate
    assert 0 < rebuilt.counts["urls_kept"] < both.counts["urls_kept"]


def test_an_earlier_scan_with_other_settings_is_not_mixed_in(sample_dumps: list[Path], tmp_path: Path) -> None:
    january, february = (DumpSource(path) for path in sample_dumps)
    run_harvest([january], tmp_path, HarvestConfig(n_buckets=4))
    with pytest.raises(ValueError, match=r"RS_2019-01 was harvested with other settings \(allow_nsfw\)"):
        run_harvest([february], tmp_path, HarvestConfig(n_buckets=4, allow_nsfw=True))
    assert len(complete_shards(tmp_path)) == 4  # nothing already done was lost
