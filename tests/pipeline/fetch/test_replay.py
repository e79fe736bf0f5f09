"""Replaying a live run's WARC files rebuilds the same pages index without the network."""

from __future__ import annotations

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
