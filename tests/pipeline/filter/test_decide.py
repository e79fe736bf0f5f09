"""The order of the filter's verdicts: each dropped document is counted once, under the first reason that applies."""

from __future__ import annotations

import pyarrow as pa
from filter_fixtures import article_text

from pipeline.filter.config import FilterConfig, HeuristicConfig, QualityConfig
from pipeline.filter.decide import LOW_QUALITY, document_reasons
from pipeline.filter.scores import SCORES_SCHEMA


def reasons_for(rows: list[tuple[str, str, float, float]], cfg: FilterConfig) -> list[str | None]:
    """Reasons for documents given as (text, fastText language, language score, quality score)."""
    ids = [f"doc-{index}" for index in range(len(rows))]
    documents = pa.table({"id": ids, "text": [row[0] for row in rows]})
    columns = [ids, [row[1] for row in rows], [row[2] for row in rows], [row[3] for row in rows]]
    return document_reasons(documents, pa.Table.from_arrays([pa.array(c) for c in columns], schema=SCORES_SCHEMA), cfg)


def test_language_then_heuristics_then_quality_then_crosscheck() -> None:
    english, german = article_text("en"), article_text("de")
    cfg = FilterConfig(quality=QualityConfig(model_path="quality.bin", threshold=0.5))
    rows = [
        (german, "de", 0.99, 0.9),  # not a wanted language
        (english, "en", 0.5, 0.9),  # wanted, but fastText is unsure
        ("too short", "en", 0.9, 0.1),  # fails a rule: counted there, not as low quality
        (english, "en", 0.95, 0.1),  # passes the rules, fails the classifier
        (english, "en", 0.95, 0.9),  # kept
    ]
    assert reasons_for(rows, cfg) == [
        "language_not_allowed",
        "language_low_score",
        "too_few_words",
        LOW_QUALITY,
        None,
    ]


def test_langdetect_is_asked_last_and_only_about_keeps() -> None:
    german = article_text("de")
    # fastText (as if) reads this German page as doubtful English; the rules are off to isolate the order.
    cfg = FilterConfig(heuristics=HeuristicConfig(enabled=False), quality=QualityConfig(model_path="quality.bin"))
    assert reasons_for([(german, "en", 0.7, 0.1), (german, "en", 0.7, 0.9)], cfg) == [LOW_QUALITY, "language_disputed"]
