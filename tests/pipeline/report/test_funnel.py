from __future__ import annotations

from pathlib import Path

import pytest
from report_fixtures import ALL_STAGES, SUMMARIES, MakeRun

from pipeline.report.folders import ReportFolders
from pipeline.report.funnel import NOT_RUN, consistency, funnel


def rows_of(root: Path) -> list:
    return funnel(ReportFolders.under(root).summaries())


def test_every_step_adds_up_and_hands_its_output_to_the_next(make_run: MakeRun) -> None:
    rows = rows_of(make_run())
    for row in rows:
        assert row.count_in - row.count_out == sum(row.dropped.values()), row
    assert consistency(rows) == []
    steps = {(row.stage, row.step): (row.count_in, row.count_out) for row in rows}
    assert steps[("harvest", "dump lines read")] == (96, 62)
    assert steps[("harvest", "distinct submissions")] == (62, 61)
    assert steps[("harvest", "URLs with enough karma")] == (51, 49)
    assert steps[("fetch", "fetched")] == (49, 39)
    assert steps[("extract", "extracted")] == (39, 36)  # pages whose fetch failed are fetch's, not extract's
    assert steps[("tokenize", "tokenized")] == (12, 11)
    assert rows[-1].note.startswith("8,586 tokens (train 7,122, val 1,464)")


def test_each_check_of_a_stage_starts_from_what_the_one_before_kept(make_run: MakeRun) -> None:
    filter_rows = [row for row in rows_of(make_run()) if row.stage == "filter"]
    assert [(row.step, row.count_in, row.count_out) for row in filter_rows] == [
        ("language (fastText)", 29, 20),
        ("Gopher rules", 20, 18),
        ("quality classifier", 18, 16),
        ("language cross-check", 16, 15),
    ]
    assert filter_rows[0].dropped == {"language_not_allowed": 7, "language_low_score": 2}
    assert filter_rows[1].dropped == {"repeated_lines": 1, "repeated_top_ngram": 1}
    assert filter_rows[-1].count_out == SUMMARIES["filter"][0]["kept"]


def test_a_run_that_filters_before_dedup_is_shown_in_that_order(make_run: MakeRun, tmp_path: Path) -> None:
    filtered = tmp_path / "run" / "docs" / "filtered"  # the folder make_run writes the filter's summary to
    root = make_run(
        filter={"counts": {"documents": 36, "kept": 22}},
        dedup={"counts": {"documents": 22, "kept": 15}, "details": {"docs_dir": str(filtered)}},
    )
    rows = rows_of(root)
    stages = list(dict.fromkeys(row.stage for row in rows))
    assert stages == ["harvest", "fetch", "extract", "filter", "dedup", "decontaminate", "tokenize"]
    assert consistency(rows) == []  # extract's 36 enter the filter, its 22 the dedup, its 15 decontaminate
    first = {(row.stage, row.step): (row.count_in, row.count_out) for row in rows}
    assert first[("filter", "language (fastText)")] == (36, 27) and first[("dedup", "near duplicates")] == (17, 15)


def test_a_reason_no_check_names_is_counted_in_the_last_check(make_run: MakeRun) -> None:
    outcomes = {"exact_duplicate": 5, "near_duplicate": 1, "simhash_duplicate": 1}
    dedup = [row for row in rows_of(make_run(dedup={"outcomes": outcomes})) if row.stage == "dedup"]
    assert dedup[-1].dropped == {"near_duplicate": 1, "simhash_duplicate": 1}
    assert dedup[-1].count_out == 29


def test_a_folder_that_does_not_match_its_input_is_named(make_run: MakeRun) -> None:
    outcomes = {"ok": 45, "http_404": 5}  # an index that also holds URLs of an earlier harvest
    rows = rows_of(make_run(fetch={"outcomes": outcomes, "counts": {"urls": 50}}))
    gaps = consistency(rows)
    assert len(gaps) == 2  # harvest → fetch (49 vs 50) and fetch → extract (45 vs 39)
    assert "fetch (fetched) read 50 URLs, but harvest (URLs with enough karma) left 49" in gaps[0]


@pytest.mark.parametrize("stages", [(), ("harvest", "fetch")])
def test_stages_that_did_not_run_are_rows_saying_so(make_run: MakeRun, stages: tuple[str, ...]) -> None:
    rows = rows_of(make_run(stages))
    ran = {row.stage for row in rows if row.ran}
    assert ran == set(stages)
    missing = [row for row in rows if not row.ran]
    assert {row.stage for row in missing} == set(ALL_STAGES) - set(stages)
    assert all(row.as_dict()["out"] == NOT_RUN for row in missing)
    assert consistency(rows) == []
