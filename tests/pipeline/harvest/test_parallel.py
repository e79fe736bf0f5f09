"""Classifying a block of lines at once must count and keep exactly what classifying each line alone does."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from pipeline.harvest import parallel, submissions
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.parallel import by_bucket, classify_chunk
from pipeline.harvest.submissions import SPILL_SCHEMA, Submission, SubmissionClassifier, bucket_of
from pipeline.sample.reddit import pushshift_submission

JAN_2019 = 1546300800
N_BUCKETS = 4


def record(**overrides: object) -> dict:
    fields = dict(id="abc12", url="https://news.test/story", score=5, created_utc=JAN_2019 + 60, subreddit="news")
    submission = pushshift_submission(**{**fields, "title": "A story"})  # type: ignore[arg-type]
    submission.update(overrides)
    return submission


def line(**overrides: object) -> bytes:
    return json.dumps(record(**overrides), separators=(",", ":")).encode()


def without(field: str, **overrides: object) -> bytes:
    submission = record(**overrides)
    del submission[field]
    return json.dumps(submission).encode()


# Lines whose outcome a shortcut that looked at bytes instead of decoded fields could get wrong.
EDGE_CASES: list[tuple[bytes, str]] = [
    (line(id="s1", score=-4), "kept"),
    (without("score", id="s2"), "bad_type"),
    (without("score", id="s3", title='"score": 3, "is_self": true'), "bad_type"),
    (line(id="s4", title='{"url": "https://other.test/", "is_self": false}', is_self=True), "self_post"),
    (line(id="s5", url="https://caf\u00e9.test/men\u00fc?utm_source=x&amp;id=2"), "kept"),
    (
        rb'{"id":"s6","url":"https:\/\/news.test\/\u00e9t\u00e9","score":3,"created_utc":1546300860,"is_self":false}',
        "kept",
    ),
    (line(id="s7", crosspost_parent_list=[{"is_self": True, "url": "https://i.imgur.com/x", "score": "no"}]), "kept"),
    (
        line(id="s8", media={"oembed": {"url": "https://www.youtube.com/watch?v=1"}}, url="https://v.redd.it/z"),
        "reddit_link",
    ),
    (line(id="s9", created_utc=f"{JAN_2019 + 120}"), "kept"),
]
# Lines that send their block down the line-by-line path.
TYPE_ERRORS: list[tuple[bytes, str]] = [
    (line(id="t1", score="7"), "bad_type"),
    (line(id="t2", score=3.0), "bad_type"),
    (line(id="t3", score=True), "bad_type"),
]
MALFORMED: list[tuple[bytes, str]] = [
    (b'{"id": "m1", "url": "https://news.test/cut', "malformed_json"),
    (b"", "blank_line"),
    (b"  ", "blank_line"),
    (line(id="m2") + b" " + line(id="m3"), "malformed_json"),
    (b'{"id": "m4", "url": "https://news.test/\xff", "score": 3, "created_utc": 1546300860}', "malformed_json"),
    (b"[1, 2]", "bad_type"),
]


def one_by_one(lines: list[bytes], cfg: HarvestConfig) -> tuple[Counter[str], list[Submission]]:
    classifier = SubmissionClassifier(cfg)
    results = [classifier.classify(raw) for raw in lines]
    outcomes = Counter("kept" if isinstance(result, Submission) else result for result in results)
    return outcomes, [result for result in results if isinstance(result, Submission)]


def in_one_block(lines: list[bytes], cfg: HarvestConfig) -> tuple[int, Counter[str], list[Submission]]:
    count, outcomes, kept, counts = classify_chunk(b"\n".join(lines) + b"\n", SubmissionClassifier(cfg), N_BUCKETS)
    assert kept.schema == SPILL_SCHEMA and sum(counts.values()) == kept.num_rows
    spilled = by_bucket(kept, counts)
    assert all(bucket_of(row["url"], N_BUCKETS) == bucket for bucket in spilled for row in spilled[bucket].to_pylist())
    rows = [Submission(**row) for bucket in sorted(spilled) for row in spilled[bucket].to_pylist()]
    return count, Counter(outcomes), rows


@pytest.mark.parametrize(("raw", "outcome"), EDGE_CASES + TYPE_ERRORS + MALFORMED)
def test_each_edge_case_has_its_outcome(raw: bytes, outcome: str) -> None:
    result = SubmissionClassifier(HarvestConfig()).classify(raw)
    assert ("kept" if isinstance(result, Submission) else result) == outcome


@pytest.mark.parametrize(
    ("cases", "decoded_at_once"),
    [(EDGE_CASES, True), (EDGE_CASES + TYPE_ERRORS, False), (EDGE_CASES + MALFORMED, False)],
    ids=["block decode", "type errors", "malformed"],
)
def test_a_block_counts_and_keeps_what_single_lines_do(cases: list[tuple[bytes, str]], decoded_at_once: bool) -> None:
    lines = [raw for raw, _ in cases] * 3  # repeats are answered from the classifier's memo of links
    cfg = HarvestConfig()
    assert (SubmissionClassifier(cfg).decode_block(b"\n".join(lines)) is not None) is decoded_at_once
    count, outcomes, rows = in_one_block(lines, cfg)
    expected_outcomes, expected_rows = one_by_one(lines, cfg)
    assert count == len(lines)
    assert outcomes == expected_outcomes == Counter(outcome for _, outcome in cases * 3)
    assert sorted(rows) == sorted(expected_rows)


def test_kept_fields_survive_escapes_and_odd_values() -> None:
    _, _, rows = in_one_block([raw for raw, _ in EDGE_CASES], HarvestConfig())
    by_id = {row.id: row for row in rows}
    assert by_id["s1"].score == -4
    assert by_id["s5"].url == "https://xn--caf-dma.test/men\u00fc?id=2"
    assert by_id["s5"].domain == "xn--caf-dma.test"
    assert by_id["s6"].url == "https://news.test/\u00e9t\u00e9"
    assert by_id["s9"].created_utc == JAN_2019 + 120


def test_a_full_memo_is_emptied_without_changing_results(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [line(id=f"r{index}", url=f"https://site{index % 7}.test/{index % 5}") for index in range(60)]
    lines += [line(id=f"i{index}", url=f"https://i.imgur.com/{index}") for index in range(10)]
    cfg = HarvestConfig()
    unbounded = in_one_block(lines, cfg)
    assert unbounded[1] == Counter(kept=60, blocked_domain=10)
    monkeypatch.setattr(submissions, "LINK_MEMO_SIZE", 3)
    monkeypatch.setattr(submissions, "HOST_MEMO_SIZE", 2)
    classifier = SubmissionClassifier(cfg)
    results = [classifier.classify(raw) for raw in lines]
    assert len(classifier._links) <= 3 and len(classifier._hosts) <= 2
    assert results == [SubmissionClassifier(cfg).classify(raw) for raw in lines]
    assert in_one_block(lines, cfg) == unbounded


def test_the_main_process_classifies_until_a_worker_has_started_then_shares_the_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Spawned workers take a while to import. Until one has started, the main process classifies each block itself
    and hands its result back before reading the next; then the blocks are shared. Whoever classified a block, the
    results come back in block order and are what one process gives."""
    cfg = HarvestConfig(workers=2)
    chunks = [
        b"".join(line(id=f"b{block}r{row}", url=f"https://site{block}.test/{row}") + b"\n" for row in range(50))
        for block in range(16)
    ]
    local: list[bytes] = []
    results: list[parallel.ChunkResult] = []
    before_start: list[tuple[int, int]] = []  # (block, results handed back when it was read), while none started

    def counted(chunk: bytes, classifier: SubmissionClassifier, n_buckets: int):  # type: ignore[no-untyped-def]
        local.append(chunk)
        return classify_chunk(chunk, classifier, n_buckets)

    def blocks(classifier: parallel.ChunkClassifier) -> Iterator[bytes]:
        for index, chunk in enumerate(chunks):
            if index == 4:  # from here on, wait for a worker
                deadline = time.monotonic() + 120
                while not classifier._workers_started():
                    assert time.monotonic() < deadline, "no worker started in 120 s"
                    time.sleep(0.01)
            if not classifier._workers_started():
                before_start.append((index, len(results)))
            yield chunk

    monkeypatch.setattr(parallel, "classify_chunk", counted)  # in this process only: workers are spawned afresh
    with parallel.ChunkClassifier(cfg) as classifier:
        results.extend(classifier.classify(blocks(classifier)))
    expected = [classify_chunk(chunk, SubmissionClassifier(cfg), cfg.n_buckets) for chunk in chunks]
    assert [result[:2] for result in results] == [result[:2] for result in expected]
    assert [result[2].to_pylist() for result in results] == [result[2].to_pylist() for result in expected]
    assert [result[3] for result in results] == [result[3] for result in expected]
    assert before_start and before_start[0] == (0, 0)
    assert all(handed_back == index for index, handed_back in before_start)  # nothing held back
    assert local[: len(before_start)] == chunks[: len(before_start)]
    assert len(before_start) <= len(local) < len(chunks)  # then the worker classified some
