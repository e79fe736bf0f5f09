"""``build_report``: a run's folders in, its report out (``report.md``, ``report.json``, one CSV per table, PNGs).

Pure: no Prefect, no MLflow. The flow publishes ``RunReport.markdown`` and ``RunReport.tables`` as
Prefect artifacts and logs ``RunReport.plots`` to MLflow; everything is also a file under the
report folder (``DATA_ROOT/report/`` by default), written atomically. A stage that did not run is
shown as "not run" and never fails the report. Files an earlier report wrote that this one does
not (a chart whose table is now empty) are removed, so the folder always matches ``report.json``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.benchmarks.registry import benchmarks_of, not_decontaminated
from pipeline.report import distributions, plots
from pipeline.report.folders import DATA_STAGES, ReportFolders, as_folders
from pipeline.report.funnel import NOT_RUN, FunnelRow, consistency, funnel, stage_order
from pipeline.report.markdown import bullets, image, section, table
from pipeline.report.models import ModelRun, comparison, model_run, model_table
from pipeline.report.optouts import ignored_optouts, optout_table
from pipeline.report.personal_data import personal_data_table, personal_data_text
from pipeline.shards import atomic_write_bytes, atomic_write_json, read_json
from pipeline.stage import StageSummary

REPORT_MD, REPORT_JSON = "report.md", "report.json"


@dataclasses.dataclass(slots=True)
class RunReport:
    """The report: its Markdown, its tables (name → rows, each row a flat dict), the PNGs by name, every file
    written, the stages that did not run, and the places where one step's output is not the next one's input."""

    out_dir: Path
    markdown: str
    tables: dict[str, list[dict[str, Any]]]
    plots: dict[str, Path]
    files: list[Path]
    not_run: list[str]
    consistency: list[str]
    not_decontaminated: list[str] = dataclasses.field(default_factory=list)
    ignored_optouts: list[str] = dataclasses.field(default_factory=list)  # site opt-outs the config turned off


class _Writer:
    """Writes the report's files atomically and remembers them."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.files: list[Path] = []

    def bytes(self, name: str, data: bytes) -> Path:
        path = self.out_dir / name
        atomic_write_bytes(path, data)
        self.files.append(path)
        return path

    def text(self, name: str, text: str) -> Path:
        return self.bytes(name, text.encode("utf-8"))

    def copy(self, source: Path, name: str) -> Path:
        return self.bytes(name, source.read_bytes())


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: dict[str, None] = {}
    for row in rows:
        columns |= dict.fromkeys(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _stage_rows(summaries: Mapping[str, StageSummary | None], folders: ReportFolders) -> list[dict[str, Any]]:
    """One row per stage: ran or not, its folder, units, seconds and its headline counts as text."""
    rows = []
    for stage in stage_order(summaries):
        summary = summaries.get(stage)
        folder = getattr(folders, stage)
        if summary is None:
            rows.append({"stage": stage, "status": NOT_RUN, "folder": str(folder or "")})
            continue
        rows.append(
            {
                "stage": stage,
                "status": "ran",
                "folder": str(folder),
                "units": summary.units,
                "units_skipped": summary.units_skipped,
                "seconds": summary.seconds,
                "counts": ", ".join(f"{key} {value:,}" for key, value in summary.counts.items()),
            }
        )
    return rows


def _chart(
    writer: _Writer, charts: dict[str, Path], name: str, rows: list[Any], draw: Callable[[list[Any]], bytes]
) -> str:
    """Draw ``name``.png when there is something to draw; its Markdown image line (or nothing)."""
    if not rows:
        return ""
    charts[name] = writer.bytes(f"{name}.png", draw(rows))
    return image(name.replace("_", " "), f"{name}.png")


def _not_run(what: str) -> str:
    return f"_{what}: not run._\n"


def _data_sections(
    folders: ReportFolders,
    summaries: Mapping[str, Any],
    rows: list[FunnelRow],
    gaps: list[str],
    tables: dict[str, list],
    writer: _Writer,
    charts: dict,
) -> list[str]:
    tables["funnel"] = [row.as_dict() for row in rows]
    tables["languages"] = distributions.language_table(summaries.get("filter"), folders.decontaminate)
    corpus = folders.decontaminate if summaries.get("decontaminate") else None
    tables["domains"] = distributions.domain_table(corpus or _latest_documents(folders, summaries))
    tables["cluster_sizes"] = distributions.cluster_size_table(summaries.get("dedup"))
    tables["largest_clusters"] = distributions.largest_clusters(summaries.get("dedup"))
    tables["overlap"] = distributions.overlap_table(summaries.get("decontaminate"))
    tables["references"] = distributions.reference_table(summaries.get("decontaminate"))
    tables["optouts"] = optout_table(
        folders.fetch if summaries.get("fetch") else None, folders.extract if summaries.get("extract") else None
    )
    tables["personal_data"] = personal_data_table(summaries.get("decontaminate"))
    ran = [row for row in rows if row.ran]
    dedup_ran, decontaminate_ran = summaries.get("dedup") is not None, summaries.get("decontaminate") is not None
    return [
        section("Stages", table(tables["stages"])),
        section(
            "Funnel",
            "Each row: records in, records out, and the dropped ones by reason (in − out = dropped).\n",
            table(tables["funnel"]),
            ("Inconsistencies:\n\n" + bullets(gaps)) if gaps else "",
            _chart(writer, charts, "funnel", ran, plots.funnel_chart),
        ),
        section(
            "Languages",
            table(tables["languages"]) if tables["languages"] else _not_run("filter (language identification)"),
            _chart(writer, charts, "languages", tables["languages"], plots.language_chart),
        ),
        section(
            "Domains",
            table(tables["domains"]) if tables["domains"] else "_No documents yet._\n",
            _chart(writer, charts, "domains", _named(tables["domains"]), plots.domain_chart),
        ),
        section(
            "Duplicate clusters",
            table(tables["cluster_sizes"]) if dedup_ran else _not_run("dedup"),
            ("Largest clusters:\n\n" + table(tables["largest_clusters"])) if tables["largest_clusters"] else "",
            _chart(writer, charts, "cluster_sizes", tables["cluster_sizes"], plots.cluster_size_chart),
        ),
        section(
            "Evaluation-set overlap",
            "GPT-2's 8-gram overlap: percent of each evaluation set's 8-grams found in the documents.\n",
            table(tables["overlap"]) if tables["overlap"] else _not_run("decontaminate (overlap report)"),
            ("By reference:\n\n" + table(tables["references"])) if decontaminate_ran and tables["references"] else "",
        ),
        section(
            "Site opt-outs",
            "Pages left out because their site reserved them from text and data mining or AI training.\n",
            table(tables["optouts"]) if tables["optouts"] else "_No page was opted out._\n",
        ),
        section("Personal data", personal_data_text(summaries.get("decontaminate"), tables["personal_data"])),
    ]


def _named(domain_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The domain rows without the "(N other domains)" row, which would dwarf the chart."""
    return [row for row in domain_rows if not row["domain"].startswith("(")]


def _latest_documents(folders: ReportFolders, summaries: Mapping[str, Any]) -> Path | None:
    """The folder of the last document stage that ran (the corpus so far, for a partial run)."""
    for stage in ("filter", "dedup", "extract"):
        if summaries.get(stage) is not None:
            return getattr(folders, stage)
    return None


def _model_sections(folders: ReportFolders, tables: dict[str, list], writer: _Writer, charts: dict) -> list[str]:
    runs: list[ModelRun] = [model_run(folder) for folder in folders.model_dirs()]
    runs.sort(key=lambda run: (run.row.get("n_params") or 0, run.size))  # smallest model first, as the table
    tables["models"] = model_table(runs)
    curves = []
    for run in runs:
        if run.loss_curve is not None:
            name = f"loss_curve-{run.size}"
            charts[name] = writer.copy(run.loss_curve, f"{name}.png")
            curves.append(image(f"loss curve {run.size}", f"{name}.png"))
    compared = comparison(folders.compare)
    tables["comparison"] = compared.rows
    if compared.markdown is not None:
        writer.text("comparison.md", compared.markdown)
    if compared.plot is not None:
        charts["comparison"] = writer.copy(compared.plot, "comparison.png")
    return [
        section("Models", table(tables["models"]) if runs else _not_run("train"), *curves),
        section(
            "Model sizes",
            compared.markdown or _not_run("evaluate and compare"),
            image("model sizes", "comparison.png") if compared.plot is not None else "",
        ),
    ]


def _contamination_warning(tables: dict[str, list[dict[str, Any]]]) -> tuple[list[str], str]:
    """The benchmarks the models were evaluated on that the corpus was not decontaminated against, and the report's
    warning about them (empty when there are none)."""
    evaluated = benchmarks_of(key for row in tables["models"] for key in row)
    missing = not_decontaminated(evaluated, [row["eval_set"] for row in tables["overlap"]])
    if not missing:
        return [], ""
    warning = section(
        "WARNING: evaluated on sets the corpus was not decontaminated against",
        f"**{', '.join(missing)}**: the models below were scored on these benchmarks, but decontaminate did not cut "
        "their text from the corpus, so the corpus may contain it and these scores may be inflated. Decontaminate "
        "against them (`decontaminate.eval_sets`, or keep `decontaminate.evaluated_sets` on) and train again.\n",
    )
    return missing, warning


def _optout_warning(summaries: Mapping[str, Any]) -> tuple[list[str], str]:
    """The site opt-outs the run was set not to honour, and the report's warning about them."""
    ignored = ignored_optouts(summaries.get("fetch"), summaries.get("extract"))
    if not ignored:
        return [], ""
    warning = section(
        "WARNING: site opt-outs not honoured",
        f"**{', '.join(ignored)}**: this run's config turned these off, so the corpus may hold pages whose sites "
        "reserved them from AI training. Turn them back on (`fetch.respect_robots`, `fetch.respect_ai_optouts`, "
        "`extract.honour_tdm_reservation`, `extract.honour_noai`) unless every such site allowed you.\n",
    )
    return ignored, warning


def _remove_stale(out_dir: Path, written: list[Path]) -> None:
    """Delete what the previous report wrote and this one did not (its files are listed in its report.json)."""
    previous = read_json(out_dir / REPORT_JSON) or {}
    keep = {path.name for path in written}
    for name in previous.get("files") or []:
        if name not in keep and "/" not in name:
            (out_dir / name).unlink(missing_ok=True)


def build_report(folders: ReportFolders | Mapping[str, Path | str | None] | Path, out_dir: Path) -> RunReport:
    """Read the run's folders (or its data root), write the report into ``out_dir`` and return it."""
    found = as_folders(folders)
    summaries = found.summaries()
    writer = _Writer(out_dir)
    tables: dict[str, list[dict[str, Any]]] = {"stages": _stage_rows(summaries, found)}
    charts: dict[str, Path] = {}
    rows = funnel(summaries)
    gaps = consistency(rows)
    sections = _data_sections(found, summaries, rows, gaps, tables, writer, charts)
    sections += _model_sections(found, tables, writer, charts)
    not_run = [stage for stage in DATA_STAGES if summaries.get(stage) is None]
    not_run += [] if tables["models"] else ["train"]
    not_run += [] if tables["comparison"] else ["compare"]
    header = "# Run report\n\n" + (f"Not run: {', '.join(not_run)}.\n" if not_run else "Every stage ran.\n")
    uncut, warning = _contamination_warning(tables)
    ignored, optout_warning = _optout_warning(summaries)
    warnings = [text for text in (warning, optout_warning) if text]
    markdown = "\n".join([header, *warnings, *sections])
    for name, rows in tables.items():
        if rows:
            writer.text(f"{name}.csv", _csv(rows))
    writer.text(REPORT_MD, markdown)
    files = [*writer.files, out_dir / REPORT_JSON]
    payload = {
        "not_run": not_run,
        "consistency": gaps,
        "not_decontaminated": uncut,
        "ignored_optouts": ignored,
        "tables": tables,
        "plots": {name: path.name for name, path in charts.items()},
        "files": [path.name for path in files],
    }
    _remove_stale(out_dir, files)
    atomic_write_json(out_dir / REPORT_JSON, json.loads(json.dumps(payload, default=str)))
    return RunReport(out_dir, markdown, tables, charts, files, not_run, gaps, uncut, ignored)
