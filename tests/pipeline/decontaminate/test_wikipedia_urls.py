"""GPT-2's Wikipedia rule on URLs, with the quick test that rules out a URL without Wikipedia's or a mirror's name
before it is parsed: the same answers as parsing every URL."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from pipeline.decontaminate.config import WIKIPEDIA_MIRRORS
from pipeline.decontaminate.wikipedia import WIKIPEDIA_ORG, is_wikipedia, is_wikipedia_page
from pipeline.urls import host_rule


def parsed(url: str) -> bool:
    """The rule with every URL parsed (what the quick test must agree with)."""
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    is_mirror = host_rule(host, dict.fromkeys(WIKIPEDIA_MIRRORS, "mirror")) is not None
    return host == WIKIPEDIA_ORG or host.endswith("." + WIKIPEDIA_ORG) or is_mirror


@pytest.mark.parametrize(
    "url",
    [
        "https://en.wikipedia.org/wiki/Tide",
        "http://EN.M.WIKIPEDIA.ORG/wiki/Tide",
        "https://www.wikiwand.com/en/Tide",
        "https://sub.dbpedia.org/page",
        "https://wiki\npedia.org/x",  # urlsplit deletes line breaks and tabs: the quick test must not rule it out
        "https://de.wiki\tpedia.org/x",
        "https://wi\u212akipedia.org/",  # the Kelvin sign lower-cases to k, in the host and in the URL alike
        "https://user@de.wikipedia.org:8080/x",
        "https://notwikipedia.org/x",
        "https://wikipedia.org.example.com/",
        "https://example.com/?from=wikipedia.org",
        "https://bench.test/1",
        "",
    ],
)
def test_the_quick_test_agrees_with_parsing_every_url(url: str) -> None:
    assert is_wikipedia(url, WIKIPEDIA_MIRRORS) == (bool(url) and parsed(url))


def test_a_page_redirected_to_wikipedia_is_wikipedias() -> None:
    assert is_wikipedia_page("https://bench.test/1", "https://en.wikipedia.org/wiki/X", WIKIPEDIA_MIRRORS)
    assert not is_wikipedia_page("https://bench.test/1", None, WIKIPEDIA_MIRRORS)
