"""Every pages row carries its URL's harvest fields, whatever the outcome, so extract needs no join."""

from __future__ import annotations

import pyarrow.parquet as pq

from pipeline.records import UrlRecord, from_table
from pipeline.shards import complete_shards


def test_pages_rows_carry_karma_and_first_seen_from_the_url_shard(hostile, crawl) -> None:
    paths = ["/page/one", "/status/404", "/pdf", "/page/two", "/redirect/loop-a"]
    urls = [hostile.url("harvest-fields.test", path) for path in paths]
    result = crawl(urls, out="fields", batch_size=2)  # three batches: each row must keep its own URL's fields
    assert {record.outcome for record in result.pages.values()} >= {"ok", "http_404", "not_html", "redirect_loop"}
    (urls_shard,) = complete_shards(crawl.root / "fields-urls")
    harvested = {record.url: record for record in from_table(pq.read_table(urls_shard), UrlRecord)}
    assert len({record.first_seen for record in harvested.values()}) == len(urls)
    for url, page in result.pages.items():
        assert (page.karma, page.first_seen) == (harvested[url].karma, harvested[url].first_seen), url
        assert page.first_seen is not None and page.first_seen.tzinfo is not None
