"""The sample's two monthly dumps: submissions of every sample page plus every tricky line.

Besides the links to the sample web, the dumps plant each case the harvest must
count rather than keep (self posts, Reddit-internal links, media hosts, NSFW, dates
outside the window, non-http schemes, broken URLs, malformed JSON, wrong types, links
the sample's blocklist names), and the expected outcome counts are recorded so tests
can hold the harvest to them exactly.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections import Counter
from typing import Any

from pipeline.sample.blocklist import BLOCKLISTED, LISTED_LINKS, NEAR_MISSES
from pipeline.sample.reddit import pushshift_submission
from pipeline.sample.web import OPTOUT_ROLES, Route

JANUARY = 1546300800  # 2019-01-01T00:00:00Z
FEBRUARY = 1548979200  # 2019-02-01T00:00:00Z
MARCH = 1551398400  # 2019-03-01T00:00:00Z
SUBREDDITS = ("news", "worldnews", "technology", "books", "DIY", "gardening", "Cooking", "space")

Line = dict[str, Any] | str | bytes


@dataclasses.dataclass(slots=True)
class SampleDumps:
    """Lines of each month plus what the harvest should make of them."""

    january: list[Line] = dataclasses.field(default_factory=list)
    february: list[Line] = dataclasses.field(default_factory=list)
    expected_karma: dict[str, int] = dataclasses.field(default_factory=dict)
    expected_outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    duplicate_submissions: int = 0


class _Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.dumps = SampleDumps()
        self._next_id = 36**4

    def submission(self, url: Any, score: Any = 5, month: int = 0, **fields: Any) -> dict[str, Any]:
        self._next_id += 7919
        start = JANUARY if month == 0 else FEBRUARY
        record = pushshift_submission(
            id=_base36(self._next_id),
            url=url,
            score=score,
            created_utc=start + self.rng.randrange(86400 * 27),
            subreddit=self.rng.choice(SUBREDDITS),
            title=f"Sample story {self._next_id}",
            rng=self.rng,
        )
        record.update(fields)
        return record

    def add(self, line: Line, outcome: str, month: int = 0) -> None:
        (self.dumps.january if month == 0 else self.dumps.february).append(line)
        self.dumps.expected_outcomes[outcome] += 1


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
    return text or "0"


def _link_routes(builder: _Builder, routes: list[Route]) -> None:
    """One submission per karma entry of every route, alternating months."""
    for route in routes:
        for index, score in enumerate(route.karma):
            builder.add(builder.submission(route.url, score, month=index % 2), "kept", month=index % 2)
        if sum(route.karma) >= 3:
            builder.dumps.expected_karma[route.url] = sum(route.karma)


def _url_variants(builder: _Builder, route: Route) -> None:
    """Spellings of one URL that must normalise together, and one submission in both months."""
    variant = f"HTTP://{route.host.upper()}:80{route.path}?utm_source=reddit&amp;utm_medium=social#comments"
    repeated = builder.submission(variant, 2, month=0)
    builder.add(repeated, "kept", month=0)
    builder.add(repeated, "kept", month=1)  # the same submission again: counted once
    builder.add(builder.submission(f"http://{route.host}{route.path}#top", 1, month=1), "kept", month=1)
    builder.dumps.duplicate_submissions += 1
    builder.dumps.expected_karma[route.url] += 2 + 1


def _policy_rejects(builder: _Builder, nsfw_target: str) -> None:
    cases = {
        "reddit_link": [
            "https://www.reddit.com/r/pics/comments/9abcd/look/",
            "https://redd.it/9abce",
            "https://i.redd.it/q1w2e3.jpg",
            "https://v.redd.it/r4t5y6",
            "https://old.reddit.com/r/news/",
        ],
        "blocked_domain": [
            "https://imgur.com/gallery/AbCdE",
            "https://i.imgur.com/AbCdE.png",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ",
            "https://gfycat.com/happysleepydog",
        ],
        "blocked_extension": ["http://photos.webtext.test/albums/cat.JPG", "http://files.webtext.test/setup.exe"],
        "not_http": ["mailto:editor@webtext.test", "ftp://files.webtext.test/pub/readme.txt"],
        "invalid_url": ["http://", "http://bad host.webtext.test/page"],
    }
    for outcome, urls in cases.items():
        for index, url in enumerate(urls):
            builder.add(builder.submission(url, 25, month=index % 2), outcome, month=index % 2)
    for month in (0, 1):
        permalink = "https://www.reddit.com/r/AskReddit/comments/9zzz/what_is/"
        builder.add(builder.submission(permalink, 900, month, is_self=True), "self_post", month)
    builder.add(builder.submission(nsfw_target, 50, over_18=True), "nsfw")
    old = builder.submission("http://news.webtext.test/2018/12/31/year-in-review", 30, created_utc=JANUARY - 3600)
    new = builder.submission("http://news.webtext.test/2019/03/02/spring", 30, 1, created_utc=MARCH + 3600)
    builder.add(old, "out_of_window", 0)
    builder.add(new, "out_of_window", 1)


def _malformed(builder: _Builder) -> None:
    without_url = builder.submission("x")
    del without_url["url"]
    for line in (without_url, builder.submission(None), builder.submission("")):
        builder.add(line, "missing_url")
    wrong_types = [
        builder.submission("http://news.webtext.test/a", id=12345),
        builder.submission("http://news.webtext.test/b", score="lots"),
        builder.submission("http://news.webtext.test/c", created_utc=None),
        builder.submission(404),
        "[1, 2, 3]",
    ]
    for line in wrong_types:
        builder.add(line, "bad_type", 1)
    truncated = json.dumps(builder.submission("http://news.webtext.test/d"))[:120]
    for line in (truncated, "this is not json", b'{"id": "\xff\xfe", "url": "http://news.webtext.test/e"}'):
        builder.add(line, "malformed_json")
    builder.add("", "blank_line")
    builder.add("   ", "blank_line", 1)


def _blocklisted(builder: _Builder) -> None:
    """Links the sample's blocklist drops, and near misses it keeps (below min_karma, so they never reach fetch)."""
    for links, outcome in ((LISTED_LINKS, BLOCKLISTED), (NEAR_MISSES, "kept")):
        for url, score, month in links:
            builder.add(builder.submission(url, score, month), outcome, month)


def build_dumps(routes: list[Route], rng: random.Random) -> SampleDumps:
    """Both months, shuffled like real dumps (by time, not by case)."""
    builder = _Builder(rng)
    _link_routes(builder, [route for route in routes if route.role not in OPTOUT_ROLES])
    _url_variants(builder, routes[0])
    _policy_rejects(builder, nsfw_target=next(route.url for route in routes if route.host == "blog.webtext.test"))
    string_created = builder.submission("http://blog.webtext.test/posts/string-timestamp", 4)
    string_created["created_utc"] = str(string_created["created_utc"])  # as some old dumps store it
    builder.add(string_created, "kept")
    builder.dumps.expected_karma["http://blog.webtext.test/posts/string-timestamp"] = 4
    _malformed(builder)
    _blocklisted(builder)
    rng.shuffle(builder.dumps.january)
    rng.shuffle(builder.dumps.february)
    # The opt-out pages' links come last, so every line before them keeps its id, time and place.
    _link_routes(builder, [route for route in routes if route.role in OPTOUT_ROLES])
    return builder.dumps
