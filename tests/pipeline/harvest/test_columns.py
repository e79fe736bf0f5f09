"""The column-wise block classification must give exactly what checking submission by submission gives."""

from __future__ import annotations

import html
import json
import random
import re
from collections import Counter
from itertools import chain

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline import urls
from pipeline.harvest.columns import (
    _COMMON_LINK_RE2,
    COMMON_LINK,
    classify_columns,
    native_columns,
    struct_columns,
)
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.parallel import spill_batch
from pipeline.harvest.submissions import SubmissionClassifier, bucket_of
from pipeline.sample.reddit import pushshift_submission

JAN_2019 = 1546300800
N_BUCKETS = 4

# Links at and around the edges of PLAIN_LINK's shape.
ODD_LINKS = [
    "https://news.test/story",
    "https://news.test",
    "http://news.test/",
    "https://www.news.test/a/b.c/d",
    "https://News.test/story",
    "HTTPS://news.test/story",
    "https://news.test./story",
    "https://.news.test/story",
    "https://news..test/story",
    "https://news.test:443/story",
    "https://news.test:8080/story",
    "https://user@news.test/story",
    "https://news.test/story?id=1",
    "https://news.test/story?utm_source=x",
    "https://news.test/story?",
    "https://news.test/story#part",
    "https://news.test/story?a=1&amp;utm_medium=y",
    "https://news.test/story?utm_source=x&amp;id=2",
    "https://news.test/story?utm_source=a&amp;utm_medium=b",
    "https://news.test/story?id=1&amp;amp;x=2",
    "https://news.test/story?a=1&not=2",
    "https://news.test/story?a=1&amp;copy=2",
    "https://news.test/story?a=1&ampx=2",
    "https://news.test/story?a=1&amp",
    "https://news.test/story?a=1&lt",
    "https://news.test/story?a=1&AMP;b",
    "https://news.test/story?a=1&alpha;=2&amp;hellip;",
    "https://news.test/story?a=1&#38;b",
    "https://news.test/story?a&&b",
    "https://news.test/story?UTM_Source=x&Fbclid=y&z",
    "https://news.test/story?share=1&si=2&x=3",
    "https://news.test/story?x=1;y=2",
    "https://news.test/story?a=%20&b=%26",
    "https://news.test/story?x=1?y=2",
    "https://news.test/story?=1&a=1&=2",
    "https://news.test/story?fbclid&x",
    "https://news.test?a=1",
    "https://news.test/?a=1&amp;b=2&c=3",
    "https://news.test/page.PDF?download=1",
    "https://news.test/a&amp;b",
    "https://news.test/a&amp;amp;b",
    "https://news.test/a&lt;b",
    "https://news.test/a%20b",
    "https://news.test/a b",
    " https://news.test/story",
    "https://news.test/story ",
    "https://news.test/story\n",
    "https://news.test/story\t",
    "https://news.test/story\xa0",
    "https://news.test/story\x1f",
    "https://news.test/st\x00ory",
    "https://news.test/men\u00fc",
    "https://caf\u00e9.test/",
    "https://[::1]/x",
    "https://news.test/photo.JPG",
    "https://news.test/archive.tar.gz",
    "https://news.test/dir.jpg/page",
    "https://news.test/file.",
    "https://news.test/.jpg",
    "https://i.imgur.com/abc",
    "https://imgur.com.evil.test/abc",
    "https://www.reddit.com/r/news/",
    "https://v.redd.it/xyz",
    "http://",
    "https://",
    "mailto:a@b.test",
    "ftp://news.test/file",
    "//news.test/story",
    "news.test/story",
]


def record(**overrides: object) -> dict:
    fields = dict(id="abc12", url="https://news.test/story", score=5, created_utc=JAN_2019 + 60, subreddit="news")
    submission = pushshift_submission(**{**fields, "title": "A story"})  # type: ignore[arg-type]
    submission.update(overrides)
    return submission


def block(records: list[dict]) -> bytes:
    return b"".join(json.dumps(submission).encode() + b"\n" for submission in records)


def one_by_one(decoded: list, cfg: HarvestConfig) -> tuple[dict[str, int], pa.RecordBatch, dict[int, int]]:
    """What ``classify_chunk`` gave before the column-wise path: check each submission, group kept rows by bucket."""
    results = list(map(SubmissionClassifier(cfg).check, decoded))
    outcomes = Counter(result for result in results if type(result) is str)
    kept: dict[int, list] = {}
    for submission in [result for result in results if type(result) is not str]:
        kept.setdefault(bucket_of(submission.url, N_BUCKETS), []).append(submission)
    if kept:
        outcomes["kept"] = len(results) - outcomes.total()
    rows = list(chain.from_iterable(kept.values()))
    return dict(outcomes), spill_batch(rows), {bucket: len(rows) for bucket, rows in kept.items()}


def assert_same_as_one_by_one(records: list[dict], cfg: HarvestConfig) -> dict[str, int]:
    decoded = SubmissionClassifier(cfg).decode_block(block(records))
    assert decoded is not None
    columns = struct_columns(decoded)
    assert columns is not None
    outcomes, batch, counts = classify_columns(columns, SubmissionClassifier(cfg), N_BUCKETS)
    expected_outcomes, expected_batch, expected_counts = one_by_one(decoded, cfg)
    assert outcomes == expected_outcomes
    assert list(counts.items()) == list(expected_counts.items())
    assert batch.schema == expected_batch.schema
    assert batch.to_pylist() == expected_batch.to_pylist()
    return outcomes


@pytest.mark.parametrize("link", ODD_LINKS)
def test_a_common_link_without_a_query_is_already_normalised(link: str) -> None:
    match = re.fullmatch(COMMON_LINK, link)
    if match is None or "?" in link:
        return
    path = match["path"] or ""
    assert urls.normalise_with_host(link) == (link if path else link + "/", match["host"])


def test_re2_and_python_agree_on_the_common_shape() -> None:
    parts = pc.extract_regex(pa.array(ODD_LINKS), _COMMON_LINK_RE2)
    assert parts.is_valid().to_pylist() == [re.fullmatch(COMMON_LINK, link) is not None for link in ODD_LINKS]
    assert any(parts.is_valid().to_pylist()) and not all(parts.is_valid().to_pylist())


@pytest.mark.parametrize(
    "cfg",
    [
        HarvestConfig(),
        HarvestConfig(after="2019-01-01", before="2019-01-02", allow_nsfw=True),
        HarvestConfig(blocked_extensions=("", "gz", "JPG"), extra_blocked_domains=("news.test",)),
    ],
    ids=["default", "window, nsfw allowed", "odd extensions and domains"],
)
def test_odd_links_and_rules_give_what_checking_one_by_one_gives(cfg: HarvestConfig) -> None:
    records = [record(id=f"l{index}", url=link) for index, link in enumerate(ODD_LINKS)]
    records += [record(id=f"r{index}", url=link, subreddit=None) for index, link in enumerate(ODD_LINKS)]
    records += [
        record(id=None),
        record(score=None),
        record(created_utc=None),
        record(url=None),
        record(url=""),
        record(is_self=True),
        record(is_self=None, over_18=None),
        record(over_18=True),
        record(created_utc=JAN_2019 - 1),
        record(created_utc=JAN_2019 + 86400),
        record(score=-3, subreddit=""),
    ]
    outcomes = assert_same_as_one_by_one(records * 2, cfg)
    assert len(outcomes) >= 8


# Pieces of random queries: tracking and ordinary names, entity names, bare and escaped "&", odd values.
QUERY_NAMES = ["utm_source", "UTM_Medium", "pk_campaign", "fbclid", "si", "_ga", "id", "page", "not", "copy", "amp"]
QUERY_NAMES += ["lt", "reg", "para", "x", "", "shared", "hsa_y", "mtm_z"]
QUERY_VALUES = ["", "=1", "=a%20b", "=x=y", "=;", "=#f", "=&#38;", "=caf\u00e9", "=a b", "=?"]
QUERY_JOINS = ["&", "&amp;", "&amp;amp;", "&&", "&amp;&amp;"]


def test_random_queries_give_what_checking_one_by_one_gives() -> None:
    rng = random.Random(27)
    links = []
    for index in range(800):
        pieces = [rng.choice(QUERY_NAMES) + rng.choice(QUERY_VALUES) for _ in range(rng.randint(0, 4))]
        query = "".join(rng.choice(QUERY_JOINS) + piece for piece in pieces).removeprefix("&")
        links.append(f"https://site{index % 5}.test/{rng.choice(['a', 'b.pdf', ''])}?{query}")
    outcomes = assert_same_as_one_by_one(
        [record(id=f"q{index}", url=link) for index, link in enumerate(links)], HarvestConfig()
    )
    assert outcomes["kept"] > 700


def test_a_block_of_rejected_links_keeps_nothing() -> None:
    outcomes = assert_same_as_one_by_one([record(is_self=True), record(url="https://i.imgur.com/a")], HarvestConfig())
    assert outcomes == {"self_post": 1, "blocked_domain": 1}


@pytest.mark.parametrize(
    "overrides",
    [{"created_utc": float(JAN_2019 + 60)}, {"created_utc": str(JAN_2019 + 60)}, {"score": 2**63}, {"score": -(2**64)}],
)
def test_values_columns_cannot_hold_send_the_block_one_by_one(overrides: dict) -> None:
    data = block([record(), record(**overrides)])
    decoded = SubmissionClassifier(HarvestConfig()).decode_block(data)
    assert decoded is not None
    assert struct_columns(decoded) is None
    assert native_columns(data) is None


@pytest.mark.parametrize(
    "text", ["a&amp;b", "a&amp;amp;b", "a&amp;amp;amp;amp;b", "&amp;", "a&amp", "a&amp;b&lt;c", "a&ampb", "a & b"]
)
def test_unescaping_only_ampersands_is_what_html_unescape_does(text: str) -> None:
    expected = text
    for _ in range(3):
        if html.unescape(expected) == expected:
            break
        expected = html.unescape(expected)
    assert urls._unescape(text) == expected
