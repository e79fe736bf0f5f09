"""Politeness: robots.txt, Crawl-delay, per-host and global concurrency, and the circuit breaker."""

from __future__ import annotations

import socket

import pytest

ROBOTS_DISALLOW_PRIVATE = "User-agent: *\nDisallow: /page/private\n"


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_robots_disallow_is_respected_without_requesting_the_page(hostile, crawl) -> None:
    hostile.robots["polite.test"] = (200, ROBOTS_DISALLOW_PRIVATE)
    private, public = hostile.url("polite.test", "/page/private"), hostile.url("polite.test", "/page/public")
    result = crawl([private, public])
    assert result.outcomes() == {private: "robots_disallowed", public: "ok"}
    # robots.txt before any page; the TDMRep site file once a page was fetched (a refused page needs none)
    paths = [hit.path for hit in hostile.hits_for("polite.test")]
    assert paths == ["/robots.txt", "/page/public", "/.well-known/tdmrep.json"]


def test_missing_robots_txt_allows_everything(hostile, crawl) -> None:
    urls = [hostile.url("no-robots.test", f"/page/{name}") for name in ("a", "b")]
    result = crawl(urls)
    assert set(result.outcomes().values()) == {"ok"}
    assert len(hostile.hits_for("no-robots.test", "/robots.txt")) == 1  # fetched once, shared by both pages


def test_robots_server_error_disallows_the_whole_host(hostile, crawl) -> None:
    hostile.robots["robots-broken.test"] = (500, "oops")
    urls = [hostile.url("robots-broken.test", f"/page/{name}") for name in ("a", "b", "c")]
    result = crawl(urls)
    assert set(result.outcomes().values()) == {"robots_disallowed"}
    assert hostile.page_hits("robots-broken.test") == []


@pytest.mark.parametrize("location", ["http://169.254.169.254/robots.txt", "http://localhost/robots.txt"])
def test_robots_redirect_to_private_address_is_blocked(hostile, crawl, fence, location) -> None:
    hostile.robots["robots-ssrf.test"] = (302, location)
    url = hostile.url("robots-ssrf.test", "/page/a")
    result = crawl([url])
    assert result.outcomes() == {url: "ssrf_blocked"}
    assert hostile.page_hits("robots-ssrf.test") == [] and fence.lookups == []


def test_crawl_delay_spaces_requests_to_a_host(hostile, crawl) -> None:
    hostile.robots["slowpoke.test"] = (200, "User-agent: *\nCrawl-delay: 1\n")
    urls = [hostile.url("slowpoke.test", f"/page/{name}") for name in ("a", "b")]
    result = crawl(urls)
    assert set(result.outcomes().values()) == {"ok"}
    first, second = sorted(hit.arrived for hit in hostile.page_hits("slowpoke.test"))
    assert second - first >= 0.9  # Crawl-delay: 1, less what connection reuse saves the second request


def test_per_host_and_global_concurrency_bounds_hold(hostile, crawl) -> None:
    hosts = ("busy-a.test", "busy-b.test", "busy-c.test")
    urls = [hostile.url(host, f"/page/{index}?delay=0.2") for index in range(8) for host in hosts]  # round-robin
    hostile.max_total_in_flight = 0
    result = crawl(urls, per_host_concurrency=2, concurrency=4)
    assert set(result.outcomes().values()) == {"ok"}
    assert [hostile.max_in_flight[host] for host in hosts] == [2, 2, 2]  # reached, never exceeded
    assert hostile.max_total_in_flight == 4


def test_circuit_breaker_stops_a_host_that_refuses_connections(crawl, fence, closed_port) -> None:
    urls = [f"http://refusing.test/page/{index}" for index in range(6)]
    pins = {"refusing.test": f"127.0.0.1:{closed_port}"}
    result = crawl(urls, pins=pins, circuit_breaker_failures=3, max_retries=0, concurrency=1)
    # robots.txt is what fails first for each URL: those failures count toward the breaker too
    assert [result.pages[url].outcome for url in urls] == ["connection_refused"] * 3 + ["host_unreachable"] * 3
    assert len([address for address in fence.connects if address[1] == closed_port]) == 3


def test_circuit_breaker_stops_requests_already_queued_for_the_host(crawl, fence, closed_port) -> None:
    urls = [f"http://refusing-many.test/page/{index}" for index in range(12)]
    result = crawl(
        urls,
        pins={"refusing-many.test": f"127.0.0.1:{closed_port}"},
        circuit_breaker_failures=3,
        per_host_concurrency=1,
        respect_robots=False,
        max_retries=0,
    )
    # all 12 pass the breaker check at once, then queue for the host's one slot: 9 must not connect
    assert result.summary.outcomes == {"connection_refused": 3, "host_unreachable": 9}
    assert len([address for address in fence.connects if address[1] == closed_port]) == 3


def test_a_retry_stopped_by_the_breaker_keeps_its_own_failure(crawl, fence, closed_port) -> None:
    """URLs that were refused and then found the breaker open on retry report the refusal, not the breaker."""
    urls = [f"http://refusing-retry.test/page/{index}" for index in range(3)]
    result = crawl(
        urls,
        pins={"refusing-retry.test": f"127.0.0.1:{closed_port}"},
        circuit_breaker_failures=3,
        per_host_concurrency=3,
        respect_robots=False,
        max_retries=2,
    )
    assert result.summary.outcomes == {"connection_refused": 3}
    assert len([address for address in fence.connects if address[1] == closed_port]) == 3
