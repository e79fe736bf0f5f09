"""RFC 9309 conformance, one test per rule, against the hostile loopback server (docs/fetch.md "Compliance").

Each made-up host serves its own robots.txt (``hostile.robots``). A disallowed page must never reach the
server; an allowed one must. The cache's expiry is driven by an injected clock, so a day passes at once.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from pipeline.fetch.config import FetchConfig
from pipeline.fetch.http import HttpFetcher
from pipeline.fetch.robots import ROBOTS_MAX_BYTES

KIB = 1 << 10


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def live_fetcher(cfg: FetchConfig, clock: FakeClock) -> Iterator[Callable[[str], str]]:
    """One :class:`HttpFetcher` kept across calls (its robots cache with it): ``fetch(url)`` gives the outcome."""

    async def start() -> HttpFetcher:
        return HttpFetcher(cfg, clock=clock)

    with asyncio.Runner() as runner:
        fetcher = runner.run(start())
        try:
            yield lambda url: runner.run(fetcher.fetch(url)).outcome
        finally:
            runner.run(fetcher.close())


def pages(hostile, host: str, *names: str) -> list[str]:
    return [hostile.url(host, f"/page/{name}") for name in names]


def padding(size: int) -> str:
    """Comment lines of exactly ``size`` bytes: a robots.txt grown large without a rule in it."""
    lines, rest = divmod(size, 100)
    return ("#" * 99 + "\n") * lines + ("#" * (rest - 1) + "\n" if rest else "")


def test_the_first_500_kib_of_a_600_kib_robots_txt_are_obeyed_cut_at_a_line_break(hostile, crawl) -> None:
    """§2.5: at least 500 KiB are parsed. A longer file is cut, never dropped, and its last part-line is no rule."""
    cut_line = "Disallow: /page/cut-here\n"
    head = padding(400 * KIB) + "User-agent: *\nDisallow: /page/private\n"
    head += padding(ROBOTS_MAX_BYTES - len(head) - 18)  # the 500 KiB mark falls in cut_line: "Disallow: /page/cu"
    text = head + cut_line + padding(600 * KIB - len(head) - len(cut_line))
    assert len(text) == 600 * KIB and len(head) < ROBOTS_MAX_BYTES < len(head) + len(cut_line)
    hostile.robots["big-robots.test"] = (200, text)
    private, public, cut = pages(hostile, "big-robots.test", "private", "public", "cut-here")
    assert crawl([private, public, cut]).outcomes() == {private: "robots_disallowed", public: "ok", cut: "ok"}
    assert sorted(hit.path for hit in hostile.page_hits("big-robots.test")) == ["/page/cut-here", "/page/public"]


def test_groups_are_chosen_by_product_token_case_insensitively_and_combined(hostile, crawl) -> None:
    """§2.2.1: webtext's token is ``webtext-fetch``; its groups are combined; ``*`` only when none names it."""
    hostile.robots["groups.test"] = (
        200,
        "User-agent: *\nDisallow: /page/star\n\n"
        "User-agent: WEBTEXT-Fetch/2.0\nDisallow: /page/own\n\n"
        "User-agent: webtext\nUser-agent: crawler\nDisallow: /page/not-ours\n\n"  # words of the UA, not its token
        "User-agent: webtext-fetch\nDisallow: /page/merged\n",
    )
    hostile.robots["star-only.test"] = (
        200,
        "User-agent: otherbot\nDisallow: /\n\nUser-agent: *\nDisallow: /page/star\n",
    )
    own, merged, star, not_ours = pages(hostile, "groups.test", "own", "merged", "star", "not-ours")
    fallback, other = pages(hostile, "star-only.test", "star", "other")
    result = crawl([own, merged, star, not_ours, fallback, other])
    assert result.outcomes() == {
        own: "robots_disallowed",
        merged: "robots_disallowed",
        star: "ok",
        not_ours: "ok",
        fallback: "robots_disallowed",
        other: "ok",
    }


def test_the_longest_match_wins_and_allow_wins_a_tie(hostile, crawl) -> None:
    """§2.2.2: the rule with the most octets decides; equal ones, Allow. ``Allow: .../index.html`` allows no more."""
    hostile.robots["longest.test"] = (
        200,
        "User-agent: *\nDisallow: /page/\nAllow: /page/open\nDisallow: /page/open-but-not-this\n"
        "Allow: /page/tie\nDisallow: /page/tie\nAllow: /page/index.html\n",
    )
    closed, opened, longer, tie, index, folder = pages(
        hostile, "longest.test", "closed", "opened", "open-but-not-this", "tie", "index.html", ""
    )
    assert crawl([closed, opened, longer, tie, index, folder]).outcomes() == {
        closed: "robots_disallowed",
        opened: "ok",
        longer: "robots_disallowed",
        tie: "ok",
        index: "ok",
        folder: "robots_disallowed",
    }


def test_star_matches_any_octets_and_dollar_ends_the_path(hostile, crawl) -> None:
    """§2.2.3: ``*`` and a final ``$``; a ``$`` in the path itself is an ordinary character."""
    hostile.robots["wildcards.test"] = (
        200,
        "User-agent: *\nDisallow: /page/*.php$\nDisallow: /*secret\nDisallow: /page/exact$\n",
    )
    urls = pages(hostile, "wildcards.test", "a.php", "a.php?x=1", "a.phps", "top-secret-plans", "exact", "exact-not")
    literal_dollar = hostile.url("wildcards.test", "/page/exact$x")
    result = crawl([*urls, literal_dollar])
    assert [result.pages[url].outcome for url in [*urls, literal_dollar]] == [
        "robots_disallowed",
        "ok",
        "ok",
        "robots_disallowed",
        "robots_disallowed",
        "ok",
        "ok",
    ]


def test_percent_encoded_paths_compare_by_their_octets(hostile, crawl) -> None:
    """§2.2.2: escapes of unreserved characters are decoded, hex case does not count, UTF-8 is escaped;
    escaped reserved characters stay apart from the characters (``%2F`` is not ``/``, ``%3D`` is not ``=``)."""
    hostile.robots["encoded.test"] = (
        200,
        "User-agent: *\nDisallow: /page/a%3cd\nDisallow: /page/%7Ejoe\nDisallow: /page/~ann\nDisallow: /page/ツ\n"
        "Disallow: /page/%62%61%7A\nDisallow: /page/x%2Fy\nDisallow: /page/q%3Dv\n",
    )
    blocked = pages(hostile, "encoded.test", "a%3Cd", "~joe", "%7eann", "%E3%83%84", "baz")
    slash, equals = hostile.url("encoded.test", "/page/x/y"), hostile.url("encoded.test", "/page/q=v")
    result = crawl([*blocked, slash, equals])
    assert {result.pages[url].outcome for url in blocked} == {"robots_disallowed"}
    assert (result.pages[slash].outcome, result.pages[equals].outcome) == ("http_404", "ok")  # requested, both
    assert sorted(hit.path for hit in hostile.page_hits("encoded.test")) == ["/page/q=v", "/page/x/y"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_server_error_disallows_everything_until_robots_txt_is_asked_again(hostile, crawl, status) -> None:
    """§2.3.1.4: 5xx is a complete disallow; it is not kept all run: after ``robots_retry_s`` it is asked again.
    429 counts as a server error too (the RFC lets a crawler be stricter than allow-all)."""
    host = f"robots-{status}.test"
    hostile.robots[host] = (status, "")
    first, meanwhile, later, private = pages(hostile, host, "first", "meanwhile", "later", "private")
    cfg, clock = crawl.config([first]), FakeClock()
    with live_fetcher(cfg, clock) as fetch:
        assert fetch(first) == "robots_disallowed"
        hostile.robots[host] = (200, "User-agent: *\nDisallow: /page/private\n")
        clock.now += cfg.robots_retry_s - 1
        assert fetch(meanwhile) == "robots_disallowed"
        clock.now += 1
        assert (fetch(later), fetch(private)) == ("ok", "robots_disallowed")
    assert len(hostile.hits_for(host, "/robots.txt")) == 2
    assert [hit.path for hit in hostile.page_hits(host)] == ["/page/later"]


def test_an_unreachable_robots_txt_requests_no_page_and_is_asked_again(crawl, fence, closed_port) -> None:
    """§2.3.1.4: unreachable is a complete disallow; the page gets the failure (a transient outcome, fetched
    again in a later run) and the next request to the origin asks for robots.txt again."""
    urls = [f"http://unreachable-robots.test/page/{index}" for index in range(3)]
    pins = {"unreachable-robots.test": f"127.0.0.1:{closed_port}"}
    result = crawl(urls, pins=pins, max_retries=0, concurrency=1, circuit_breaker_failures=10)
    assert set(result.outcomes().values()) == {"connection_refused"}
    assert len([address for address in fence.connects if address[1] == closed_port]) == 3  # robots.txt, each time


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_a_4xx_robots_txt_allows_everything(hostile, crawl, status) -> None:
    """§2.3.1.3: unavailable (4xx) means no rules, whatever the error page says."""
    hostile.robots[f"robots-{status}.test"] = (status, "User-agent: *\nDisallow: /\n")
    urls = pages(hostile, f"robots-{status}.test", "a", "b")
    assert set(crawl(urls).outcomes().values()) == {"ok"}


def test_five_redirects_are_followed_to_the_robots_file(hostile, crawl) -> None:
    """§2.3.1.2: at least five redirects, across hosts; the rules found apply to the first host. A sixth
    redirect means no robots.txt (the RFC lets the crawler call it unavailable)."""
    hops = [f"hop{index}.test" for index in range(6)]
    for here, there in itertools.pairwise(hops):
        hostile.robots[here] = (301, hostile.url(there, "/robots.txt"))
    hostile.robots["hop5.test"] = (200, "User-agent: *\nDisallow: /page/private\n")  # five redirects from hop0
    hostile.robots["six-away.test"] = (301, hostile.url("hop0.test", "/robots.txt"))  # six redirects from here
    private, public = pages(hostile, "hop0.test", "private", "public")
    (too_far,) = pages(hostile, "six-away.test", "private")
    result = crawl([private, public, too_far], pins=hostile.pins(set(hops)), concurrency=1)
    assert result.outcomes() == {private: "robots_disallowed", public: "ok", too_far: "ok"}
    assert [len(hostile.hits_for(host, "/robots.txt")) for host in hops] == [2, 2, 2, 2, 2, 1]


def test_rules_are_read_again_after_a_day_at_most(hostile, crawl) -> None:
    """§2.4: a cached robots.txt is used for no more than 24 hours (``robots_ttl_s``), so a long run re-reads it."""
    host = "ttl.test"
    hostile.robots[host] = (200, "User-agent: *\nDisallow: /page/private\n")
    first, same_day, next_day = pages(hostile, host, "first", "same-day", "next-day")
    cfg, clock = crawl.config([first]), FakeClock()
    assert cfg.robots_ttl_s == 24 * 3600
    with live_fetcher(cfg, clock) as fetch:
        assert fetch(first) == "ok"
        hostile.robots[host] = (200, "User-agent: *\nDisallow: /\n")
        clock.now += cfg.robots_ttl_s - 1
        assert fetch(same_day) == "ok"
        clock.now += 1
        assert fetch(next_day) == "robots_disallowed"
    assert len(hostile.hits_for(host, "/robots.txt")) == 2


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
