from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.image
import pytest
from report_fixtures import ALL_STAGES, MakeRun, write_model

from pipeline.records import FetchRecord, to_table
from pipeline.rejects import RejectWriter
from pipeline.report import REPORT_DIR, ReportFolders, build_report
from pipeline.report.plots import PNG_SIGNATURE
from pipeline.shards import write_shard
from pipeline.stage import read_summary


def assert_png(path: Path) -> None:
    assert path.read_bytes().startswith(PNG_SIGNATURE), path
    height, width, _ = matplotlib.image.imread(path).shape  # decodes: a whole, valid image
    assert 100 < width <= 800 and 100 < height <= 1000, (path, width, height)


def test_a_finished_run_gives_every_section_table_and_chart(make_run: MakeRun) -> None:
    root = make_run(models=True)
    report = build_report(root, root / REPORT_DIR)
    assert report.not_run == [] and report.consistency == []
    assert set(report.plots) == {
        "funnel",
        "languages",
        "domains",
        "cluster_sizes",
        "loss_curve-mini",
        "loss_curve-tiny",
        "comparison",
    }
    for path in report.plots.values():
        assert_png(path)
    headings = ("Funnel", "Languages", "Domains", "Duplicate clusters", "Evaluation-set overlap", "Personal data")
    for heading in (*headings, "Models"):
        assert f"## {heading}\n" in report.markdown
    assert "![funnel](funnel.png)" in report.markdown
    assert "| tiny | 0.8M | 20 | 900.00 |" in report.markdown  # compare's table, as it wrote it
    assert "not run" not in report.markdown
    models = report.tables["models"]
    assert [row["model"] for row in models] == ["tiny", "mini"]  # smallest first; models/quality left out
    assert models[1]["sample_lambada_acc"] is None and models[0]["sample_lambada_acc"] == 0.05
    assert report.tables["comparison"][0]["sample_lambada_ppl"] == "900.0"
    assert all(path.is_file() and path.parent == root / REPORT_DIR for path in report.files)
    assert {"report.md", "report.json", "funnel.csv", "models.csv", "comparison.md"} <= {p.name for p in report.files}


def test_sets_evaluated_but_not_decontaminated_open_the_report_with_a_warning(make_run: MakeRun) -> None:
    root = make_run(models=True)
    clean = build_report(root, root / REPORT_DIR)  # sample_lambada: evaluated and decontaminated
    assert clean.not_decontaminated == [] and "WARNING" not in clean.markdown
    write_model(root / "models", "small", 9_000_000, {"lambada_acc": 0.1, "wikitext2_word_ppl": 900.0})
    report = build_report(root, root / REPORT_DIR)
    assert report.not_decontaminated == ["lambada", "wikitext2"]
    header, warning = report.markdown.split("\n## ")[:2]  # the first section, before the stages
    assert header.startswith("# Run report") and warning.startswith("WARNING: evaluated on sets")
    assert "**lambada, wikitext2**" in warning
    assert json.loads((root / REPORT_DIR / "report.json").read_text())["not_decontaminated"] == ["lambada", "wikitext2"]


def test_without_decontamination_every_evaluated_set_is_named(make_run: MakeRun) -> None:
    root = make_run(("harvest", "fetch", "extract", "dedup", "filter"), models=True)
    assert build_report(root, root / REPORT_DIR).not_decontaminated == ["sample_lambada"]


def test_report_json_holds_the_tables_and_lists_every_file(make_run: MakeRun) -> None:
    root = make_run()
    report = build_report(root, root / REPORT_DIR)
    written = json.loads((root / REPORT_DIR / "report.json").read_text())
    assert written["tables"] == json.loads(json.dumps(report.tables))
    assert sorted(written["files"]) == sorted(path.name for path in report.files)
    assert (root / REPORT_DIR / "report.md").read_text() == report.markdown
    funnel = written["tables"]["funnel"]
    assert all(row["in"] - row["out"] == row["dropped"] for row in funnel)
    assert funnel[0]["reasons"].startswith("bad_type 5, blocked_domain 5, reddit_link 5")


def test_a_partial_run_reports_what_ran_and_says_the_rest_did_not(make_run: MakeRun) -> None:
    root = make_run(("harvest", "fetch"))
    report = build_report(root, root / REPORT_DIR)
    assert report.not_run == ["extract", "dedup", "filter", "decontaminate", "tokenize", "train", "compare"]
    assert report.markdown.startswith("# Run report\n\nNot run: extract, dedup, filter, decontaminate, tokenize")
    assert "_dedup: not run._" in report.markdown and "_train: not run._" in report.markdown
    assert set(report.plots) == {"funnel"}
    stages = {row["stage"]: row["status"] for row in report.tables["stages"]}
    assert stages == {stage: "ran" if stage in ("harvest", "fetch") else "not run" for stage in ALL_STAGES}


def test_nothing_ran_still_gives_a_report(tmp_path: Path) -> None:
    report = build_report(tmp_path / "empty", tmp_path / "report")
    assert report.plots == {}
    assert (tmp_path / "report" / "report.md").is_file()
    assert all(row["out"] == "not run" for row in report.tables["funnel"])


def test_files_of_an_earlier_report_that_no_longer_apply_are_removed(make_run: MakeRun, tmp_path: Path) -> None:
    out_dir = tmp_path / "report"
    build_report(make_run(models=True), out_dir)
    assert (out_dir / "cluster_sizes.png").is_file()
    partial = ReportFolders.from_mapping({"harvest": ReportFolders.under(tmp_path / "run").harvest})
    report = build_report(partial, out_dir)
    assert sorted(path.name for path in out_dir.iterdir()) == sorted(path.name for path in report.files)


def test_folders_by_stage_name(make_run: MakeRun, tmp_path: Path) -> None:
    root = make_run()
    report = build_report({"harvest": root / "urls", "dedup": root / "docs" / "deduped"}, tmp_path / "report")
    assert [row["stage"] for row in report.tables["stages"] if row["status"] == "ran"] == ["harvest", "dedup"]
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['corpus'\]"):
        build_report({"corpus": root / "corpus"}, tmp_path / "report")


def pages_row(url: str, outcome: str = "ok") -> FetchRecord:
    return FetchRecord(
        url, url, 200, "text/html", "utf-8", 10, None, None, datetime(2019, 3, 1, tzinfo=UTC), outcome, 5, 1
    )


def write_optout_rejects(extract_dir: Path, urls: dict[str, list[str]]) -> None:
    """Extract's rows of opted-out pages (reason -> URLs), written by the stage's own reject writer."""
    writer = RejectWriter(extract_dir, "extract", "part-00000-00000.parquet", FetchRecord)
    for reason, reason_urls in urls.items():
        for url in reason_urls:
            writer.add(reason, pages_row(url))
    writer.commit("test")


def test_site_opt_outs_are_counted_by_kind_and_domain(make_run: MakeRun) -> None:
    root = make_run()
    clean = build_report(root, root / REPORT_DIR)
    assert clean.tables["optouts"] == [] and "_No page was opted out._" in clean.markdown
    reserved = ["http://news.example.com/a", "http://news.example.com/b", "http://blog.example.org/c"]
    write_optout_rejects(root / "docs" / "extracted", {"tdm_reserved": reserved, "robots_noai": ["http://x.test/1"]})
    pages = [pages_row("http://x.test/2", "robots_ai_optout"), pages_row("http://x.test/3", "robots_disallowed")]
    write_shard(
        to_table(pages, FetchRecord), root / "fetch" / "pages" / "part-00000-00000.parquet", shard_fingerprint="t"
    )
    report = build_report(root, root / REPORT_DIR)
    assert report.tables["optouts"] == [
        {"kind": "tdm_reserved", "domain": "news.example.com", "pages": 2},
        {"kind": "robots_ai_optout", "domain": "x.test", "pages": 1},
        {"kind": "robots_noai", "domain": "x.test", "pages": 1},
        {"kind": "tdm_reserved", "domain": "blog.example.org", "pages": 1},
    ]
    assert "## Site opt-outs\n" in report.markdown and report.ignored_optouts == []


def test_opt_outs_a_run_did_not_honour_open_the_report_with_a_warning(make_run: MakeRun) -> None:
    root = make_run()
    summary = read_summary(root / "docs" / "extracted")
    summary.config = {"honour_tdm_reservation": False, "honour_noai": True}
    summary.write()
    fetch = read_summary(root / "fetch")
    fetch.config = {"respect_robots": True, "respect_ai_optouts": True, "ai_optout_agents": []}
    fetch.write()
    report = build_report(root, root / REPORT_DIR)
    ignored = ["AI-training crawlers' robots.txt groups", "TDMRep reservations"]
    assert report.ignored_optouts == ignored
    assert report.markdown.split("\n## ")[1].startswith("WARNING: site opt-outs not honoured")
    assert json.loads((root / REPORT_DIR / "report.json").read_text())["ignored_optouts"] == ignored
    fetch.config["respect_robots"] = False
    fetch.write()
    assert build_report(root, root / REPORT_DIR).ignored_optouts == ["robots.txt", "TDMRep reservations"]
    fetch.config["read_tdmrep_file"] = False
    fetch.write()
    ignored = ["robots.txt", "TDMRep site files (tdmrep.json)", "TDMRep reservations"]
    assert build_report(root, root / REPORT_DIR).ignored_optouts == ignored
