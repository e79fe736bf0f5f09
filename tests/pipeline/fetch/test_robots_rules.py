"""robots.txt parsing and matching without a server: RFC 9309's own examples, and where Protego parts from it.

The second table is why ``pipeline/fetch/robots_rules.py`` exists: each case is one Protego 0.7.0 gets wrong.
Should a Protego release get one right, its test fails, and the workaround can be weighed again.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator

import pytest
from protego import Protego

from pipeline.fetch.body import read_prefix
from pipeline.fetch.robots import robots_text
from pipeline.fetch.robots_rules import RobotsTxt, canonical, product_token, request_path

TOKEN = "webtext-fetch"
USER_AGENT = "webtext-fetch/0.1 (+https://github.com/webtext/webtext; research crawler)"


def allowed(robots: str, url: str, token: str = TOKEN) -> bool:
    return RobotsTxt.parse(robots).group_for(token).allows(request_path(url))


@pytest.mark.parametrize(
    ("written", "compared"),
    [  # RFC 9309 §2.2.2's table, and the hex case RFC 3986 §6.2.2.1 leaves free
        ("/foo/bar?baz=quz", "/foo/bar?baz=quz"),
        ("/foo/bar/ツ", "/foo/bar/%E3%83%84"),
        ("/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84"),
        ("/foo/bar/%62%61%7A", "/foo/bar/baz"),
        ("/a%3cd", "/a%3Cd"),
        ("/%7Ejoe", "/~joe"),
        ("/a%2Fb", "/a%2Fb"),
        ("/50%", "/50%25"),
        ("/a b", "/a%20b"),
    ],
)
def test_paths_are_compared_in_one_spelling(written: str, compared: str) -> None:
    assert canonical(written) == compared


@pytest.mark.parametrize(
    ("value", "token"),
    [("Googlebot/2.1", "googlebot"), ("WEBTEXT-Fetch", "webtext-fetch"), ("*", "*"), ("  * ", "*"), ("*bot", "")],
)
def test_a_user_agent_line_names_its_product_token(value: str, token: str) -> None:
    assert product_token(value) == token


@pytest.mark.parametrize(
    ("rules", "path", "allowed_"),
    [  # the longest rule decides, Allow on a tie, whether the rules are plain prefixes or patterns
        ("Disallow: /*x\nAllow: /ax", "/ax", True),
        ("Allow: /*\nDisallow: /a", "/a", True),
        ("Allow: /a\nDisallow: /*b", "/ab", False),
        ("Disallow: /\nAllow: /*.html$\nDisallow: /private/*", "/private/x.html", False),
        ("Disallow: /\nAllow: /*.html$\nDisallow: /p/*", "/p/x.html", True),
        ("Disallow: /a**b", "/a/c/b", False),
        ("Disallow: /a*b*c$", "/a1b2c3", True),
        ("Disallow: *.pdf", "/docs/x.pdf", False),
    ],
)
def test_the_most_specific_rule_decides_whatever_its_form(rules: str, path: str, allowed_: bool) -> None:
    assert allowed(f"User-agent: *\n{rules}\n", f"http://h.test{path}") is allowed_


PROTEGO_DEVIATIONS = [
    # (why, robots.txt, URL, what RFC 9309 says: may webtext fetch it?)
    ("a group named by a word of the User-Agent header", "User-agent: crawler\nDisallow: /\n", "/x", True),
    ("a group named by a prefix of the product token", "User-agent: webtext\nDisallow: /\n", "/x", True),
    ("a group naming the token with a version", "User-agent: webtext-fetch/2.0\nDisallow: /\n", "/x", False),
    (
        "two groups naming one token, combined",
        "User-agent: webtext-fetch\nAllow: /\n\nUser-agent: webtext-fetch/1.0\nDisallow: /a\n",
        "/a",
        False,
    ),
    ("Allow: /index.html allows no more", "User-agent: *\nDisallow: /\nAllow: /index.html\n", "/", False),
    ("a final $ is an end, not a character", "User-agent: *\nDisallow: /a$\n", "/a$b", True),
    ("an escaped reserved character is not that character", "User-agent: *\nDisallow: /q%3Dv\n", "/q=v", True),
    ("an escaped ? is not the query's", "User-agent: *\nDisallow: /a?b\n", "/a%3Fb", True),
    (
        "Crawl-delay does not end a run of User-agent lines",
        "User-agent: webtext-fetch\nCrawl-delay: 5\nUser-agent: otherbot\nDisallow: /\n",
        "/x",
        False,
    ),
]


@pytest.mark.parametrize(
    ("robots", "path", "rfc"), [case[1:] for case in PROTEGO_DEVIATIONS], ids=[case[0] for case in PROTEGO_DEVIATIONS]
)
def test_where_protego_parts_from_rfc_9309_webtext_does_not(robots: str, path: str, rfc: bool) -> None:
    url = f"http://example.test{path}"
    assert allowed(robots, url) is rfc
    # Asked as webtext asked it, with the whole User-Agent header.
    assert Protego.parse(robots).can_fetch(url, USER_AGENT) is not rfc, "Protego now agrees: reconsider robots_rules"


def test_lenient_records_are_still_read() -> None:
    """Misspelt keys and ``key value`` lines without a colon, as Protego and Google's parser accept them."""
    assert not allowed("User-agent: *\nDissallow: /x\n", "http://h.test/x")
    assert not allowed("User agent *\nDisallow /x\n", "http://h.test/x")
    assert not allowed("\ufeffUser-agent: *\r\nDisallow: /x # private\r\n", "http://h.test/x")
    assert allowed("Disallow: /x\nUser-agent: *\nAllow: /\n", "http://h.test/x")  # a rule before any group


async def chunks_of(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("encoding", ["identity", "gzip", "deflate"])
def test_a_long_body_is_cut_at_its_limit_and_then_at_a_line_break(encoding: str) -> None:
    body = b"".join(b"Disallow: /%d\n" % number for number in range(2000))
    encoded = {"identity": body, "gzip": gzip.compress(body), "deflate": zlib.compress(body)}[encoding]
    raw, prefix, complete = asyncio.run(read_prefix(chunks_of(encoded), encoding, 5000))
    assert (prefix, complete) == (body[:5000], False)
    assert encoded.startswith(raw) and len(raw) < len(encoded)  # the raw bytes read, for the archive, end there too
    assert robots_text(prefix, complete) == body[: body.rfind(b"\n", 0, 5000) + 1].decode()
    assert asyncio.run(read_prefix(chunks_of(body[:4000]), "", 5000)) == (body[:4000], body[:4000], True)
