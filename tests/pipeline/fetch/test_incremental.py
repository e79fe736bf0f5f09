"""Incremental crawl: a second month fetches only its new URLs, WARC files are append-only, each URL indexed once,
and a URL whose karma grew gets it in its row without being fetched again."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from fetch_helpers import TEST_CONFIG, read_pages
from fetch_hostile_web import SITE_FILES, HostileServer

from pipeline.fetch.config import FetchConfig
from pipeline.fetch.stage import run_fetch
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.dumps import DumpSource
from pipeline.harvest.stage import run_harvest
from pipeline.shards import complete_shards, read_stats, read_table

HOSTS = [f"incremental-{index}.test" for index in range(3)]
HARVEST = HarvestConfig(n_buckets=2)


def write_dump(path: Path, links: list[tuple[str, int]], month: int) -> Path:
    """A Pushshift-style NDJSON dump: one submission per (url, score), all created in ``month`` of 2019."""
    created = int(datetime(2019, month, 2, tzinfo=UTC).timestamp())
    lines = [
        json.dumps({"id": f"m{month}s{n}", "url": url, "score": score, "created_utc": created + n, "subreddit": "t"})
        for n, (url, score) in enumerate(links)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def page_requests(server: HostileServer, since: int) -> list[str]:
    return [server.url(hit.host, hit.path) for hit in server.hits[since:] if hit.path not in SITE_FILES]


def harvested_karma(urls_dir: Path) -> dict[str, int]:
    table = pa.concat_tables(read_table(shard, columns=["url", "karma"]) for shard in complete_shards(urls_dir))
    return dict(zip(table["url"].to_pylist(), table["karma"].to_pylist(), strict=True))


def test_a_second_month_fetches_only_its_new_urls(hostile: HostileServer, tmp_path: Path) -> None:
    january = [hostile.url(HOSTS[n % 3], f"/page/month1-{n}") for n in range(12)]
    february = [hostile.url(HOSTS[n % 3], f"/page/month2-{n}") for n in range(5)]
    grown = january[0]  # posted again in February: its karma grows, it is not fetched again
    urls_dir, out = tmp_path / "urls", tmp_path / "fetch"
    cfg = FetchConfig(**{**TEST_CONFIG, "resolve": hostile.pins(set(HOSTS)), "batch_size": 5})

    run_harvest([DumpSource(write_dump(tmp_path / "RS_2019-01", [(url, 5) for url in january], 1))], urls_dir, HARVEST)
    first = run_fetch(urls_dir, out, cfg)
    assert first.counts["fetched"] == 12 and first.outcomes == {"ok": 12}
    archived = {path.name: path.read_bytes() for path in (out / "warc").glob("*.warc.gz")}
    assert len(archived) == 3
    pages_before = {shard.name: (shard.read_bytes(), read_stats(shard)) for shard in complete_shards(out / "pages")}

    february_dump = write_dump(tmp_path / "RS_2019-02", [(url, 5) for url in february] + [(grown, 40)], 2)
    run_harvest([DumpSource(february_dump)], urls_dir, HARVEST)  # into the same folder: January stays
    karma = harvested_karma(urls_dir)
    assert set(karma) == {*january, *february} and karma[grown] == 45

    before = len(hostile.hits)
    second = run_fetch(urls_dir, out, dataclasses.replace(cfg, batch_size=3))  # a new batch size, too
    assert sorted(page_requests(hostile, before)) == sorted(february)
    assert all((out / "warc" / name).read_bytes() == data for name, data in archived.items())
    assert set(read_pages(out)) == {*january, *february}  # read_pages fails on a URL recorded twice
    assert (second.counts["urls"], second.counts["fetched"], second.units, second.units_skipped) == (17, 5, 5, 3)
    # the grown URL's row has its newest karma, its page not asked for again: only its pages shard was rewritten,
    # and that shard's pages are what they were, karma aside (extract keys its work by that hash)
    assert read_pages(out)[grown].karma == 45 and second.counts["karma_refreshed"] == 1
    rewritten = [name for name, (data, _) in pages_before.items() if (out / "pages" / name).read_bytes() != data]
    assert rewritten == [Path(read_pages(out)[grown].warc_file or "").name.replace(".warc.gz", ".parquet")]
    stats = read_stats(out / "pages" / rewritten[0]) or {}
    assert stats["content_sha256"] == pages_before[rewritten[0]][1]["content_sha256"]
    assert stats["sha256"] != pages_before[rewritten[0]][1]["sha256"]

    before = len(hostile.hits)
    again = run_fetch(urls_dir, out, cfg)
    assert hostile.hits[before:] == [] and again.counts["fetched"] == 0 and again.units_done == 0
    assert again.counts["karma_refreshed"] == 0


def test_due_urls_are_fetched_again_and_indexed_once(hostile: HostileServer, tmp_path: Path) -> None:
    ok, failing = hostile.url(HOSTS[0], "/page/due-ok"), hostile.url(HOSTS[1], "/status/503")
    urls_dir, out = tmp_path / "urls", tmp_path / "fetch"
    run_harvest([DumpSource(write_dump(tmp_path / "RS_2019-03", [(ok, 9), (failing, 9)], 3))], urls_dir, HARVEST)
    cfg = FetchConfig(**{**TEST_CONFIG, "resolve": hostile.pins(set(HOSTS)), "max_retries": 0})
    assert run_fetch(urls_dir, out, cfg).outcomes == {"ok": 1, "http_503": 1}
    archived = {path.name: path.read_bytes() for path in (out / "warc").glob("*.warc.gz")}

    before = len(hostile.hits)
    run_fetch(urls_dir, out, cfg)  # the failure is a day from being due: nothing is asked for
    assert page_requests(hostile, before) == []

    retried = run_fetch(urls_dir, out, dataclasses.replace(cfg, retry_failed_after_days=0))
    assert page_requests(hostile, before) == [failing] and retried.counts["replaced"] == 1

    before = len(hostile.hits)
    refreshed = run_fetch(urls_dir, out, dataclasses.replace(cfg, refetch_after_days=0))
    assert sorted(page_requests(hostile, before)) == sorted([ok, failing]) and refreshed.counts["replaced"] == 2
    pages = read_pages(out)
    assert set(pages) == {ok, failing} and refreshed.counts["urls"] == 2
    assert all((out / "warc" / name).read_bytes() == data for name, data in archived.items())
    assert (
        Path(pages[ok].warc_file or "").name not in archived
    )  # the index points at the newest response; the old one stays


def test_a_row_left_twice_by_a_killed_run_is_indexed_once(hostile: HostileServer, tmp_path: Path) -> None:
    url = hostile.url(HOSTS[2], "/page/killed-between")
    urls_dir, out = tmp_path / "urls", tmp_path / "fetch"
    run_harvest([DumpSource(write_dump(tmp_path / "RS_2019-04", [(url, 9)], 4))], urls_dir, HARVEST)
    cfg = FetchConfig(**{**TEST_CONFIG, "resolve": hostile.pins(set(HOSTS)), "refetch_after_days": 0})
    run_fetch(urls_dir, out, cfg)
    (old_shard,) = complete_shards(out / "pages")
    old_copy = old_shard.read_bytes(), old_shard.with_name("part-00000-00000.stats.json").read_bytes()
    run_fetch(urls_dir, out, cfg)  # refetched: the old row was dropped from the old shard
    old_shard.write_bytes(old_copy[0])  # ... put it back, as if killed before the drop
    old_shard.with_name("part-00000-00000.stats.json").write_bytes(old_copy[1])
    summary = run_fetch(urls_dir, out, dataclasses.replace(cfg, refetch_after_days=None))
    assert summary.counts["replaced"] == 1 and summary.counts["fetched"] == 0
    assert set(read_pages(out)) == {url}
