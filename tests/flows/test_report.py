from __future__ import annotations

from pathlib import Path

from flows.webtext import console_lines
from pipeline.stage import StageSummary


def test_the_console_shows_one_line_per_stage_that_ran(tmp_path: Path) -> None:
    summary = StageSummary("dedup", str(tmp_path), {"exact_duplicate": 5}, {"documents": 36, "kept": 29}, 4, 1, 2.25)
    report = console_lines({"config": "run.yaml", "sample": {"files": 49}, "dedup": summary.as_json()})
    lines = report.splitlines()
    assert lines[0] == "webtext run of run.yaml:" and len(lines) == 2
    assert lines[1] == f"  dedup         documents 36, kept 29; 3/4 units done, 2.2 s -> {tmp_path}"


def test_artifact_keys_are_what_prefect_accepts() -> None:
    from flows.report import artifact_key

    assert artifact_key("cluster_sizes") == "webtext-cluster-sizes"
    assert artifact_key("Run report") == "webtext-run-report"


def test_the_prefect_copy_of_the_report_names_its_plots_instead_of_showing_them(tmp_path: Path) -> None:
    from flows.report import prefect_markdown
    from pipeline.report import RunReport

    plots = {"funnel": tmp_path / "funnel.png", "languages": tmp_path / "languages.png"}
    report = RunReport(tmp_path, "# Run report\n\n![funnel](funnel.png)\n\n| a |\n", {}, plots, [], [], [])
    text = prefect_markdown(report)
    assert "![" not in text and "| a |" in text and "funnel.png, languages.png" in text
