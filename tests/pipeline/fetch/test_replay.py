"""Replaying a live run's WARC files rebuilds the same pages index without the network."""

from __future__ import annotations

import json

from pipeline.fetch.replay import WarcReplayFetcher

REPLAYED = ("ok", "http_404", "redirect_loop", "too_many_redirects")  # error pages are archived too


def test_replay_gives_the_live_outcomes_for_archived_urls(hostile, crawl, fence) -> None:
    hostile.robots["replay.test"] = (200, "User-agent: *\nDisallow: /page/hidden\n")
    paths = [
        "/page/one",
        "/gzipped/two",
        "/mislabelled/french",
        "/redirect/chain/2",
        "/redirect/chain/9",
        "/redirect/loop-a",
        "/status/404",
        "/page/hidden",
    ]
    urls = [hostile.url("replay.test", path) for path in paths]
    live = crawl(urls, out="live")
    assert {record.outcome for record in live.pages.values()} >= {*REPLAYED, "http_404", "robots_disallowed"}
    warc_files = sorted((live.out / "warc").glob("*.warc.gz"))
    connects_before = len(fence.connects)

    never_fetched = "http://never-fetched.test/page/x"
    replay = crawl([*urls, never_fetched], out="replay", make_fetcher=lambda cfg: WarcReplayFetcher(warc_files))

    assert len(fence.connects) == connects_before  # the replay touched no socket
    for url, record in live.pages.items():
        again = replay.pages[url]
        assert (again.karma, again.first_seen) == (record.karma, record.first_seen), url
        if record.outcome in REPLAYED:
            assert again.outcome == record.outcome, url
            assert (again.final_url, again.status, again.charset, again.bytes) == (
                record.final_url,
                record.status,
                record.charset,
                record.bytes,
            )
        else:
            assert again.outcome == "not_archived", url
    assert replay.pages[never_fetched].outcome == "not_archived"


def test_a_replayed_page_gets_its_sites_tdmrep_reservation_from_the_archive(hostile, crawl) -> None:
    rules = [{"location": "/page/one", "tdm-reservation": 1}, {"location": "/page", "tdm-reservation": 0}]
    hostile.tdmrep["rights.test"] = (200, json.dumps(rules))
    hostile.tdmrep["moved.test"] = (301, hostile.url("rights.test", "/.well-known/tdmrep.json"))
    urls = [
        hostile.url("rights.test", "/page/one"),  # reserved by the file
        hostile.url("rights.test", "/page/two"),  # not reserved
        hostile.url("rights.test", "/gzipped/three"),  # no rule matches: unset
        hostile.url("moved.test", "/page/one"),  # the file is where its redirect points
        hostile.url("nofile.test", "/page/one"),  # no file (404): unset
    ]
    live = crawl(urls, out="live")
    expected = {urls[0]: 1, urls[1]: 0, urls[2]: None, urls[3]: 1, urls[4]: None}
    assert {url: record.tdm_file_reservation for url, record in live.pages.items()} == expected
    warc_files = sorted((live.out / "warc").glob("*.warc.gz"))

    replay = crawl(urls, out="replay", make_fetcher=lambda cfg: WarcReplayFetcher(warc_files))
    assert {url: record.tdm_file_reservation for url, record in replay.pages.items()} == expected
    unread = crawl(urls, out="unread", make_fetcher=lambda cfg: WarcReplayFetcher(warc_files, read_tdmrep_file=False))
    assert {record.tdm_file_reservation for record in unread.pages.values()} == {None}
