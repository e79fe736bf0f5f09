from __future__ import annotations

import json

import pytest

from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.submissions import Submission, SubmissionClassifier
from pipeline.sample.reddit import pushshift_submission

JAN_2019 = 1546300800


def line(**overrides: object) -> bytes:
    record = pushshift_submission(
        id="abc12", url="https://news.test/story", score=5, created_utc=JAN_2019 + 60, subreddit="news", title="A story"
    )
    record.update(overrides)
    return json.dumps(record).encode()


@pytest.fixture
def classify() -> SubmissionClassifier:
    return SubmissionClassifier(HarvestConfig(after="2019-01-01", before="2019-02-01"))


def test_a_good_submission_is_kept_with_its_fields(classify: SubmissionClassifier) -> None:
    result = classify.classify(line(url="https://News.test/story?utm_source=x#c"))
    assert result == Submission("abc12", "https://news.test/story", "news.test", 5, JAN_2019 + 60, "news")


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        (b"", "blank_line"),
        (b"  \r\n", "blank_line"),
        (b'{"id": "x", "url": "http://a.test/', "malformed_json"),
        (b"not json", "malformed_json"),
        (b'{"id": "\xff", "url": "http://a.test/"}', "malformed_json"),
        (b"[1, 2]", "bad_type"),
        (b'"just a string"', "bad_type"),
    ],
)
def test_malformed_lines_are_counted(classify: SubmissionClassifier, raw: bytes, outcome: str) -> None:
    assert classify.classify(raw) == outcome


@pytest.mark.parametrize(
    ("overrides", "outcome"),
    [
        ({"id": 123}, "bad_type"),
        ({"score": "lots"}, "bad_type"),
        ({"score": None}, "bad_type"),
        ({"created_utc": None}, "bad_type"),
        ({"created_utc": "yesterday"}, "bad_type"),
        ({"url": 404}, "bad_type"),
        ({"is_self": "no"}, "bad_type"),
        ({"url": None}, "missing_url"),
        ({"url": ""}, "missing_url"),
        ({"is_self": True}, "self_post"),
        ({"created_utc": JAN_2019 - 1}, "out_of_window"),
        ({"created_utc": JAN_2019 + 31 * 86400}, "out_of_window"),
        ({"over_18": True}, "nsfw"),
        ({"url": "mailto:a@b.test"}, "not_http"),
        ({"url": "http://"}, "invalid_url"),
        ({"url": "https://www.reddit.com/r/news/comments/abc/x/"}, "reddit_link"),
        ({"url": "https://v.redd.it/xyz"}, "reddit_link"),
        ({"url": "https://i.imgur.com/abc.png"}, "blocked_domain"),
        ({"url": "https://m.youtube.com/watch?v=1"}, "blocked_domain"),
        ({"url": "https://photos.test/cat.GIFV"}, "blocked_extension"),
    ],
)
def test_each_rule_has_its_outcome(classify: SubmissionClassifier, overrides: dict, outcome: str) -> None:
    assert classify.classify(line(**overrides)) == outcome


def test_missing_url_key(classify: SubmissionClassifier) -> None:
    record = json.loads(line())
    del record["url"]
    assert classify.classify(json.dumps(record).encode()) == "missing_url"


def test_old_dump_forms_of_created_utc_are_accepted(classify: SubmissionClassifier) -> None:
    for created in (str(JAN_2019 + 60), float(JAN_2019 + 60), f"{JAN_2019 + 60}.0"):
        result = classify.classify(line(created_utc=created))
        assert isinstance(result, Submission) and result.created_utc == JAN_2019 + 60


def test_window_bounds_are_inclusive_then_exclusive(classify: SubmissionClassifier) -> None:
    assert isinstance(classify.classify(line(created_utc=JAN_2019)), Submission)
    assert classify.classify(line(created_utc=JAN_2019 + 31 * 86400)) == "out_of_window"


def test_nsfw_allowed_and_custom_blocklist() -> None:
    classify = SubmissionClassifier(HarvestConfig(allow_nsfw=True, blocked_domains=("news.test",)))
    assert classify.classify(line(over_18=True)) == "blocked_domain"
    assert isinstance(classify.classify(line(over_18=True, url="https://i.imgur.com/a")), Submission)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_buckets": 0}, "n_buckets"),
        ({"min_karma": "3"}, "min_karma"),
        ({"after": "2019-02-01", "before": "2019-01-01"}, "after"),
        ({"after": "last tuesday"}, "after"),
        ({"blocked_domains": ("imgur.com/gallery",)}, "blocked_domains"),
    ],
)
def test_bad_config_names_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HarvestConfig(**kwargs)
