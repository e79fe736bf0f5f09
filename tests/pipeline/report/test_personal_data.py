"""The report's personal data section: the placeholders decontaminate put in, by kind, or why there are none."""

from __future__ import annotations

from report_fixtures import MakeRun

from pipeline.report import REPORT_DIR, ReportFolders, build_report
from pipeline.report.personal_data import NOT_MASKED, NOT_RECORDED, personal_data_table


def section_of(markdown: str) -> str:
    return markdown.split("## Personal data\n")[1].split("\n## ")[0]


def test_the_counts_per_kind_with_their_placeholders(make_run: MakeRun) -> None:
    root = make_run()
    report = build_report(root, root / REPORT_DIR)
    assert report.tables["personal_data"] == [
        {"kind": "email", "placeholder": "<EMAIL_ADDRESS>", "masked": 3},
        {"kind": "phone", "placeholder": "<PHONE_NUMBER>", "masked": 1},
        {"kind": "ip", "placeholder": "<IP_ADDRESS>", "masked": 0},
    ]
    assert "| email | <EMAIL_ADDRESS> | 3 |" in section_of(report.markdown)
    assert (root / REPORT_DIR / "personal_data.csv").read_text().startswith("kind,placeholder,masked\nemail,")


def test_a_corpus_left_unmasked_is_said_so_not_counted_as_zero(make_run: MakeRun) -> None:
    root = make_run(decontaminate={"config": {"mask_pii": False}})
    assert personal_data_table(ReportFolders.under(root).summary("decontaminate")) == []
    report = build_report(root, root / REPORT_DIR)
    assert report.tables["personal_data"] == [] and NOT_MASKED in section_of(report.markdown)
    assert not (root / REPORT_DIR / "personal_data.csv").exists()


def test_a_summary_from_before_masking_says_so(make_run: MakeRun) -> None:
    root = make_run(decontaminate={"config": {}})
    assert section_of(build_report(root, root / REPORT_DIR).markdown).strip() == NOT_RECORDED.strip()


def test_a_run_without_decontaminate(make_run: MakeRun) -> None:
    root = make_run(("harvest", "fetch"))
    report = build_report(root, root / REPORT_DIR)
    assert section_of(report.markdown).strip() == "_decontaminate: not run._"
    assert report.tables["personal_data"] == []
