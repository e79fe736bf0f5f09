"""Retries: 429 and 5xx are retried with backoff (Retry-After honoured), other 4xx never."""

from __future__ import annotations

from pipeline.fetch.http import HttpFetcher


def test_429_with_retry_after_is_retried_after_that_delay(hostile, crawl, sleeps) -> None:
    url = hostile.url("busy.test", "/flaky/once?fail=1&status=429&retry_after=1")
    result = crawl([url], make_fetcher=lambda cfg: HttpFetcher(cfg, sleep=sleeps))
    assert result.outcomes() == {url: "ok"}
    assert result.pages[url].attempts == 2
    assert sleeps.calls == [1.0]
    assert len(hostile.page_hits("busy.test")) == 2


def test_retry_after_is_capped_by_max_retry_after(hostile, crawl, sleeps) -> None:
    url = hostile.url("very-busy.test", "/flaky/once?fail=1&status=503&retry_after=3600")
    result = crawl([url], max_retry_after_s=2.0, make_fetcher=lambda cfg: HttpFetcher(cfg, sleep=sleeps))
    assert result.outcomes() == {url: "ok"}
    assert sleeps.calls == [2.0]


def test_intermittent_500s_succeed_on_the_third_attempt(hostile, crawl, sleeps) -> None:
    url = hostile.url("flaky.test", "/flaky/twice?fail=2&status=500")
    result = crawl([url], max_retries=3, make_fetcher=lambda cfg: HttpFetcher(cfg, sleep=sleeps))
    assert result.outcomes() == {url: "ok"}
    assert result.pages[url].attempts == 3
    first, second = sleeps.calls  # exponential backoff from backoff_base_s=0.01, jittered within [ceiling/2, ceiling]
    assert 0.005 <= first <= 0.01 and 0.01 <= second <= 0.02


def test_permanent_503_gives_up_after_max_retries(hostile, crawl, sleeps) -> None:
    url = hostile.url("down.test", "/status/503")
    result = crawl([url], max_retries=2, make_fetcher=lambda cfg: HttpFetcher(cfg, sleep=sleeps))
    assert result.outcomes() == {url: "http_503"}
    assert result.pages[url].attempts == 3
    assert len(hostile.page_hits("down.test")) == 3
    assert len(sleeps.calls) == 2


def test_404_is_final_after_one_request(hostile, crawl, sleeps) -> None:
    url = hostile.url("gone.test", "/status/404")
    result = crawl([url], make_fetcher=lambda cfg: HttpFetcher(cfg, sleep=sleeps))
    assert result.outcomes() == {url: "http_404"}
    assert (result.pages[url].status, result.pages[url].attempts) == (404, 1)
    assert len(hostile.page_hits("gone.test")) == 1
    assert sleeps.calls == []
