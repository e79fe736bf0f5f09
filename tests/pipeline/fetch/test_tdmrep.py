"""The site-wide TDMRep file, /.well-known/tdmrep.json: parsed by the W3C report's rules, read once per site
and recorded in each fetched page's row for extract to apply (tests/pipeline/extract/test_optouts.py)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from pipeline.fetch.tdmrep import TDMREP_MAX_BYTES, TDMREP_PATH, TdmFile, TdmFileCache, parse_tdmrep
from pipeline.fetch.warc import responses

SITE_RULES = [
    {"location": "/directory-a/", "tdm-reservation": 1},
    {"location": "/directory-b/html/", "tdm-reservation": 1, "tdm-policy": "https://provider.com/policy.json"},
    {"location": "/directory-b/images/*.jpg", "tdm-reservation": 0},
    {"location": "/exact$", "tdm-reservation": 1},
    {"location": "/caf%C3%A9/", "tdm-reservation": 1},
]


@pytest.mark.parametrize(
    ("path", "reservation"),
    [
        ("/directory-a/report.pdf", 1),
        ("/directory-a/", 1),
        ("/directory-a", None),  # the pattern's end is not reached
        ("/directory-b/html/page.html", 1),
        ("/directory-b/images/cat.jpg", 0),
        ("/directory-b/images/cat.png", None),
        ("/exact", 1),
        ("/exact/more", None),
        ("/café/menu", 1),  # percent-encoding equivalence, as robots.txt rules
        ("/DIRECTORY-A/x", None),  # matching is case-sensitive
        ("/elsewhere", None),
    ],
)
def test_the_first_matching_rule_decides_a_path(path: str, reservation: int | None) -> None:
    site = TdmFile(parse_tdmrep(json.dumps(SITE_RULES)), expires_at=0.0)
    assert site.reservation(f"https://provider.com{path}") == reservation


def test_the_first_rule_in_sequence_wins_over_a_later_more_specific_one() -> None:
    rules = parse_tdmrep(
        json.dumps([{"location": "/", "tdm-reservation": 1}, {"location": "/free/", "tdm-reservation": 0}])
    )
    assert TdmFile(rules, 0.0).reservation("https://site.test/free/page") == 1


def test_malformed_rules_are_left_out_and_named(caplog: pytest.LogCaptureFixture) -> None:
    text = json.dumps(
        [
            {"location": "/a/", "tdm-reservation": 2},
            {"tdm-reservation": 1},
            "not a rule",
            {"location": "/b/", "tdm-reservation": True},
            {"location": "c/", "tdm-reservation": "1"},  # a string 1 and a path without its slash: kept
        ]
    )
    with caplog.at_level(logging.WARNING, logger="pipeline.fetch.tdmrep"):
        rules = parse_tdmrep(text, "https://site.test/.well-known/tdmrep.json")
    assert [(rule.location.pattern, rule.reservation) for rule in rules] == [("/c/", 1)]
    assert caplog.text.count("https://site.test/.well-known/tdmrep.json: rule") == 4


@pytest.mark.parametrize(("text", "message"), [("{not json", "is not JSON"), ('{"location": "/"}', "JSON array")])
def test_a_file_that_is_no_rules_array_is_an_error_naming_it(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"site.json.*{message}|{message}"):
        parse_tdmrep(text, "site.json")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cache_answering(answers: dict[str, object], clock: Clock, asked: list[str]) -> TdmFileCache:
    """A cache whose getter answers by origin: (status, body), or an exception to raise."""

    async def get(url: str) -> tuple[int, bytes | None]:
        asked.append(url)
        answer = answers[url.removesuffix(TDMREP_PATH)]
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    return TdmFileCache(get, ttl_s=100.0, retry_s=10.0, clock=clock)


def test_one_read_per_site_until_it_expires_and_failures_reserve_nothing() -> None:
    reserved = json.dumps([{"location": "/", "tdm-reservation": 1}]).encode()
    answers: dict[str, object] = {
        "https://a.test": (200, reserved),
        "https://gone.test": (404, b""),
        "https://broken.test": (503, b""),
        "https://down.test": TimeoutError("timed out"),
        "https://garbled.test": (200, b"<html>not json</html>"),
        "https://huge.test": (200, None),  # over TDMREP_MAX_BYTES: unread
    }
    clock, asked = Clock(), []
    cache = cache_answering(answers, clock, asked)

    async def ask(*urls: str) -> list[int | None]:
        return list(await asyncio.gather(*(cache.reservation(url) for url in urls)))

    sites = ["https://a.test/x", "https://a.test/y", *(f"{origin}/page" for origin in list(answers)[1:])]
    assert asyncio.run(ask(*sites)) == [1, 1, None, None, None, None, None]
    assert len(asked) == len(answers)  # the two pages of a.test shared one read
    clock.now = 50.0  # past retry_s: the 5xx and the unreachable site are asked again, the others are not
    asyncio.run(ask(*sites))
    assert sorted(asked[len(answers) :]) == [f"https://broken.test{TDMREP_PATH}", f"https://down.test{TDMREP_PATH}"]
    clock.now = 150.0  # past ttl_s: every site is read again
    asked.clear()
    asyncio.run(ask(*sites))
    assert len(asked) == len(answers)
    assert TDMREP_MAX_BYTES >= 500 << 10


def test_fetched_pages_carry_what_their_site_file_says(hostile, crawl) -> None:
    hostile.tdmrep["tdm.test"] = (
        200,
        json.dumps([{"location": "/page/reserved*", "tdm-reservation": 1}, {"location": "/", "tdm-reservation": 0}]),
    )
    hostile.robots["tdm.test"] = (200, "User-agent: *\nDisallow: /page/refused\n")
    reserved, free, refused = (hostile.url("tdm.test", f"/page/{name}") for name in ("reserved-1", "free", "refused"))
    no_file = hostile.url("no-tdm-file.test", "/page/any")
    result = crawl([reserved, free, refused, no_file])
    rows = {url: (row.outcome, row.tdm_file_reservation) for url, row in result.pages.items()}
    assert rows == {reserved: ("ok", 1), free: ("ok", 0), refused: ("robots_disallowed", None), no_file: ("ok", None)}
    assert len(hostile.hits_for("tdm.test", TDMREP_PATH)) == 1  # once for the site's pages
    archived = {url for warc in (result.out / "warc").glob("*.warc.gz") for url, _ in responses(warc)}
    assert {f"http://tdm.test{TDMREP_PATH}", f"http://no-tdm-file.test{TDMREP_PATH}"} <= archived  # its 404 too
    assert sorted(hit.path for hit in hostile.page_hits("tdm.test")) == ["/page/free", "/page/reserved-1"]


def test_reading_the_site_file_can_be_turned_off_with_a_warning(hostile, crawl, caplog) -> None:
    hostile.tdmrep["tdm-off.test"] = (200, json.dumps([{"location": "/", "tdm-reservation": 1}]))
    page = hostile.url("tdm-off.test", "/page/a")
    with caplog.at_level(logging.WARNING, logger="pipeline.fetch.http"):
        result = crawl([page], read_tdmrep_file=False)
    assert "TDMRep site files (/.well-known/tdmrep.json) are NOT read" in caplog.text
    assert result.pages[page].tdm_file_reservation is None
    assert hostile.hits_for("tdm-off.test", TDMREP_PATH) == []


def test_a_soft_404_page_is_no_file_said_quietly_and_a_bad_json_file_is_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Many sites answer any path with a page and 200: that is no file, not worth a warning per site."""
    answers: dict[str, object] = {
        "https://soft404.test": (200, b"<!doctype html><title>Not found</title>"),
        "https://object.test": (200, b'{"location": "/", "tdm-reservation": 1}'),
    }
    cache = cache_answering(answers, Clock(), [])
    with caplog.at_level(logging.DEBUG, logger="pipeline.fetch.tdmrep"):
        assert asyncio.run(cache.reservation("https://soft404.test/a")) is None
        assert asyncio.run(cache.reservation("https://object.test/a")) is None
    levels = {record.levelname: record.getMessage() for record in caplog.records}
    assert (
        "soft404.test" in levels["DEBUG"] and "object.test" in levels["WARNING"] and "JSON array" in levels["WARNING"]
    )
