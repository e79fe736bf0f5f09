from __future__ import annotations

import itertools
import random
import re

import pytest

from pipeline.urls import (
    RejectedUrl,
    domain_of,
    glob_matches,
    host_rule,
    normalise_url,
    normalise_with_host,
    path_extension,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://News.Example.COM:80/a/b", "http://news.example.com/a/b"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/story#comments", "https://example.com/story"),
        ("https://example.com/s?id=3&amp;page=2", "https://example.com/s?id=3&page=2"),
        ("https://example.com/s?id=3&amp;amp;page=2", "https://example.com/s?id=3&page=2"),
        ("https://example.com/s?utm_source=reddit&id=3&fbclid=abc&UTM_Medium=x", "https://example.com/s?id=3"),
        ("https://example.com/s?utm_source=reddit", "https://example.com/s"),
        ("https://example.com/s?q=a%20b&gclid=1", "https://example.com/s?q=a%20b"),
        ("  https://example.com/padded  ", "https://example.com/padded"),
        ("https://user:secret@example.com/x", "https://example.com/x"),
        ("https://example.com./x", "https://example.com/x"),
        ("https://münchen.de/straße", "https://xn--mnchen-3ya.de/straße"),
        ("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
    ],
)
def test_normalisation(raw: str, expected: str) -> None:
    assert normalise_url(raw) == expected


def test_spellings_of_one_article_normalise_together() -> None:
    spellings = [
        "https://www.example.com/2019/story?id=7",
        "HTTPS://WWW.EXAMPLE.COM:443/2019/story?id=7&amp;utm_campaign=x#top",
        "https://www.example.com/2019/story?utm_source=twitter&id=7",
    ]
    assert len({normalise_url(url) for url in spellings}) == 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("mailto:someone@example.com", "not_http"),
        ("ftp://example.com/file.txt", "not_http"),
        ("javascript:alert(1)", "not_http"),
        ("/r/news/comments/abc", "not_http"),
        ("http://", "invalid_url"),
        ("http://exa mple.com/", "invalid_url"),
        ("http://example.com:99999/", "invalid_url"),
        ("http://[::1/", "invalid_url"),
        ("http://a..b.com/", "invalid_url"),
    ],
)
def test_rejections_carry_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(RejectedUrl) as caught:
        normalise_url(raw)
    assert caught.value.reason == reason


def test_domain_drops_www_and_port() -> None:
    assert domain_of("https://www.bbc.co.uk:8443/news") == "bbc.co.uk"
    assert domain_of("http://blog.example.com/") == "blog.example.com"


def test_host_rules_match_the_host_or_a_parent_domain() -> None:
    rules = {"imgur.com": "blocked_domain", "redd.it": "reddit_link"}
    assert host_rule("i.imgur.com", rules) == "blocked_domain"
    assert host_rule("v.redd.it", rules) == "reddit_link"
    assert host_rule("imgur.com", rules) == "blocked_domain"
    assert host_rule("notimgur.com", rules) is None
    assert host_rule("imgur.com.evil.test", rules) is None


def test_normalise_with_host_returns_the_parsed_host() -> None:
    assert normalise_with_host("HTTP://WWW.A.test:8080/x#y") == ("http://www.a.test:8080/x", "www.a.test")


def test_path_extension() -> None:
    assert path_extension("https://a.test/pics/cat.JPG") == "jpg"
    assert path_extension("https://a.test/pics/cat.jpg?size=large") == "jpg"
    assert path_extension("https://a.test/v1.2/article") == ""
    assert path_extension("https://a.test/") == ""


URL_SHAPES = [
    "http://a.test",
    "https://A.Test/",
    "http://a.test:8080",
    "http://a.test:80/x?y=1#z",
    "http://a.test?q=1",
    "http://a.test#frag",
    "https://a.test/p/a?b=c?d#e#f",
    "http://a.test/%7Euser/index.html",
    "https://sub.a-b.test/a/b/c.html?x=1&y=2",
    "http://a.test:99999/",
    "http://a.test./x",
    "http://a..test/",
    "http://a.test/with space",
    "http://a.test/tab\there",
    "https://user@a.test/",
    "http://[::1]/",
    "http://a.test:/x",
    "http://a.test;param/x",
    "http://a.test\\x",
    "HTTPS://WWW.A.TEST:443/UPPER?Q=1",
]


@pytest.mark.parametrize("url", URL_SHAPES)
def test_fast_split_agrees_with_urllib(url: str) -> None:
    """The string fast path must give exactly what urllib's urlsplit gives, or both reject."""
    from urllib.parse import urlsplit

    from pipeline.urls import _split

    try:
        parts = urlsplit(url)
        expected = (parts.scheme.lower(), parts.hostname or "", parts.port, parts.path, parts.query)
    except ValueError:
        with pytest.raises(RejectedUrl):
            _split(url, url)
        return
    assert _split(url, url) == expected


def test_glob_matching_agrees_with_a_regex() -> None:
    """Piece-by-piece matching (leftmost inner pieces), as robots.txt rules and blocklists use it, gives the answers
    of the regex it replaces."""
    rng = random.Random(5)
    texts = ["".join(letters) for size in range(6) for letters in itertools.product("ab/", repeat=size)]
    for _ in range(400):
        pattern = "".join(rng.choice("ab/*") for _ in range(rng.randrange(1, 6)))
        for anchored in (False, True):
            regex = re.compile(".*".join(map(re.escape, pattern.split("*"))) + (r"\Z" if anchored else ""))
            for text in texts:
                expected = regex.match(text) is not None
                assert glob_matches(pattern.split("*"), anchored, text) == expected, (pattern, anchored, text)
