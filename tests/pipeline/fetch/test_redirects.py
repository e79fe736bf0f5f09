"""Redirects: loops, long chains, and hops to addresses the crawler must never reach."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from pipeline.fetch.warc import responses


def redirect_to(hostile, host: str, location: str) -> str:
    return hostile.url(host, f"/redirect/to?location={quote(location, safe='')}")


def archived_hops(result) -> list[tuple[str, int]]:
    """The archived responses to page requests (robots.txt answers are archived too, beside them)."""
    return [
        (url, offset)
        for path in sorted((result.out / "warc").glob("*.warc.gz"))
        for url, offset in responses(path)
        if urlsplit(url).path != "/robots.txt"
    ]


def test_redirect_loop_is_detected(hostile, crawl) -> None:
    url = hostile.url("loop.test", "/redirect/loop-a")
    result = crawl([url])
    assert result.outcomes() == {url: "redirect_loop"}
    assert [hit.path for hit in hostile.page_hits("loop.test")] == ["/redirect/loop-a", "/redirect/loop-b"]
    assert [hop for hop, _ in archived_hops(result)] == [url, hostile.url("loop.test", "/redirect/loop-b")]


def test_chain_longer_than_max_redirects_stops(hostile, crawl) -> None:
    too_long = hostile.url("chain.test", "/redirect/chain/4")
    just_fits = hostile.url("chain.test", "/redirect/chain/3")
    result = crawl([too_long, just_fits], max_redirects=3, concurrency=1)
    assert result.outcomes() == {too_long: "too_many_redirects", just_fits: "ok"}
    assert result.pages[just_fits].final_url == hostile.url("chain.test", "/redirect/chain/0")
    hops = [hop for hop, _ in archived_hops(result)]
    assert hops.count(hostile.url("chain.test", "/redirect/chain/1")) == 2  # every hop of both chains is archived
    assert hops.count(hostile.url("chain.test", "/redirect/chain/0")) == 1  # the too-long chain never got there


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:{port}/page/secret",
        "http://[::1]:{port}/page/secret",
        "http://127.0.0.1:{port}/page/secret",
    ],
)
def test_redirect_to_private_address_is_blocked_before_connecting(hostile, crawl, fence, target) -> None:
    location = target.format(port=hostile.port)
    url = redirect_to(hostile, "ssrf.test", location)
    result = crawl([url])
    assert result.outcomes() == {url: "ssrf_blocked"}
    assert fence.connects == [("127.0.0.1", hostile.port)] * len(fence.connects)  # only ever the hostile server
    assert fence.lookups == []
    assert not [hit for hit in hostile.hits if hit.path == "/page/secret"]
    assert [hop for hop, _ in archived_hops(result)] == [url]  # the 302 that tried it is kept as evidence


def test_pinned_host_is_trusted_but_loopback_literal_needs_allow_private(hostile, crawl) -> None:
    url = redirect_to(hostile, "pinned.test", f"http://127.0.0.1:{hostile.port}/page/literal")
    allowed = crawl([url], out="allowed", allow_private=True)
    assert allowed.outcomes() == {url: "ok"}
    assert allowed.pages[url].final_url == f"http://127.0.0.1:{hostile.port}/page/literal"
    direct = hostile.url("pinned.test", "/page/direct")
    refused = crawl([url, direct], out="refused", allow_private=False)
    assert refused.outcomes() == {url: "ssrf_blocked", direct: "ok"}


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://files.test/x", "gopher://files.test:70/1"])
def test_redirect_to_other_scheme_is_a_bad_redirect(hostile, crawl, fence, location) -> None:
    url = redirect_to(hostile, "scheme.test", location)
    assert crawl([url]).outcomes() == {url: "bad_redirect"}
    assert fence.lookups == []
