"""The funnel: how many records entered and left each step of the run, and why the others were dropped.

Built from the stages' ``summary.json`` alone. Each row obeys ``count_in - count_out ==
sum(dropped.values())``; the unit changes along the way (submissions, URLs, pages, documents), and
a row says which. Within dedup, filter and decontaminate a document gets the first reason that
applies, in the order the stage checks them, so those stages are shown as one row per check
("kept after the language check", then after the Gopher rules, ...) with the same arithmetic.
The out of one step is the in of the next where the pipeline guarantees it; where a folder holds
more or less than its input (a fetch index kept from earlier harvests, a stage rerun on older
input), ``consistency`` names the gap instead of hiding it. The steps follow the order the run took
(``stage_order``: filter before dedup when dedup read the filter's output).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.layout import FILTER_FIRST, STAGE_ORDERS
from pipeline.report.folders import DATA_STAGES, count
from pipeline.stage import StageSummary

NOT_RUN = "not run"
FETCH_OK = "ok"
HARVEST_KEPT = "kept"
EMPTY_TEXT = "empty_text"
TOKEN_SPLITS = ("train", "val")
# The checks of the stages that drop documents, in the order each stage applies them: (label, reasons).
# A reason no check names joins the stage's last check (a reason added after this table was written).
DEDUP_CHECKS = (("exact duplicates", ("exact_duplicate",)), ("near duplicates", ("near_duplicate",)))
FILTER_CHECKS = (
    ("language (fastText)", ("language_not_allowed", "language_low_score")),
    ("Gopher rules", None),  # every reason the other checks do not name: the heuristics
    ("quality classifier", ("low_quality",)),
    ("language cross-check", ("language_disputed",)),
)
DECONTAMINATE_CHECKS = (("Wikipedia pages", ("wikipedia_domain",)), ("evaluation-set overlap", ("contaminated",)))
Checks = tuple[tuple[str, tuple[str, ...] | None], ...]


@dataclasses.dataclass(slots=True)
class FunnelRow:
    """One step: ``count_in`` records of ``unit`` entered, ``count_out`` left it, the rest by reason."""

    stage: str
    step: str
    unit: str
    count_in: int | None
    count_out: int | None
    dropped: dict[str, int] = dataclasses.field(default_factory=dict)
    note: str = ""

    @property
    def ran(self) -> bool:
        return self.count_out is not None

    def as_dict(self) -> dict[str, Any]:
        """A flat row for a table (Prefect's table artifact, CSV): reasons as ``reason count`` text."""
        return {
            "stage": self.stage,
            "step": self.step,
            "unit": self.unit,
            "in": self.count_in,
            "out": self.count_out if self.ran else NOT_RUN,
            "dropped": sum(self.dropped.values()),
            "reasons": reasons_text(self.dropped),
            "note": self.note,
        }


def reasons_text(dropped: Mapping[str, int]) -> str:
    """``near_duplicate 3, exact_duplicate 1``: largest first, zeros left out."""
    ordered = sorted(((count, reason) for reason, count in dropped.items() if count), key=lambda item: -item[0])
    return ", ".join(f"{reason} {count:,}" for count, reason in ordered)


def _outcomes(summary: StageSummary) -> dict[str, int]:
    return {reason: int(value) for reason, value in summary.outcomes.items()}


def _not_run(stage: str, step: str, unit: str) -> list[FunnelRow]:
    return [FunnelRow(stage, step, unit, None, None, note=NOT_RUN)]


def harvest_rows(summary: StageSummary | None) -> list[FunnelRow]:
    """Dump lines → kept submissions → distinct submissions → URLs with enough karma."""
    if summary is None:
        return _not_run("harvest", "dump lines read", "lines")
    outcomes = _outcomes(summary)
    kept = outcomes.pop(HARVEST_KEPT, 0)
    distinct = kept - count(summary, "duplicate_submissions")
    urls_kept, below = count(summary, "urls_kept"), count(summary, "urls_below_karma")
    lines = count(summary, "lines")
    lines_note = "" if lines == sum(outcomes.values()) + kept else f"summary says {lines:,} lines"
    return [
        FunnelRow("harvest", "dump lines read", "lines", sum(outcomes.values()) + kept, kept, outcomes, lines_note),
        FunnelRow(
            "harvest",
            "distinct submissions",
            "submissions",
            kept,
            distinct,
            {"duplicate_submission": count(summary, "duplicate_submissions")},
        ),
        FunnelRow(
            "harvest",
            "URLs with enough karma",
            "URLs",
            urls_kept + below,
            urls_kept,
            {"below_karma": below},
            note=f"{distinct:,} submissions link {urls_kept + below:,} distinct URLs",
        ),
    ]


def fetch_rows(summary: StageSummary | None) -> list[FunnelRow]:
    """URLs in the pages index → fetched pages (``ok``); every other outcome is a reason."""
    if summary is None:
        return _not_run("fetch", "fetched", "URLs")
    outcomes = _outcomes(summary)
    fetched = outcomes.pop(FETCH_OK, 0)
    note = f"{count(summary, 'bytes'):,} bytes; {count(summary, 'fetched'):,} URLs fetched in this run"
    return [FunnelRow("fetch", "fetched", "URLs", fetched + sum(outcomes.values()), fetched, outcomes, note)]


def extract_rows(summary: StageSummary | None) -> list[FunnelRow]:
    """Fetched pages → documents with main text (pages whose fetch failed were counted by fetch)."""
    if summary is None:
        return _not_run("extract", "extracted", "pages")
    pages = count(summary, "pages") - count(summary, "not_fetched")
    note = f"{count(summary, 'truncated'):,} truncated, {count(summary, 'charset_detected'):,} charset detected"
    return [FunnelRow("extract", "extracted", "pages", pages, count(summary, "documents"), _outcomes(summary), note)]


def check_rows(stage: str, summary: StageSummary | None, checks: Checks) -> list[FunnelRow]:
    """One row per check of a document-dropping stage, each starting from what the one before kept."""
    if summary is None:
        return _not_run(stage, checks[0][0], "documents")
    outcomes = _outcomes(summary)
    named = {reason for _, reasons in checks if reasons is not None for reason in reasons}
    rows, remaining = [], count(summary, "documents")
    for position, (label, reasons) in enumerate(checks):
        last = position == len(checks) - 1
        mine = {
            reason: value
            for reason, value in outcomes.items()
            if (reason in reasons if reasons is not None else reason not in named) or (last and reason not in named)
        }
        for reason in mine:
            outcomes.pop(reason)
        kept = remaining - sum(mine.values())
        rows.append(FunnelRow(stage, label, "documents", remaining, kept, mine))
        remaining = kept
    if rows and remaining != count(summary, "kept"):
        rows[-1].note = f"summary says kept {count(summary, 'kept'):,}"
    return rows


def decontaminate_rows(summary: StageSummary | None) -> list[FunnelRow]:
    rows = check_rows("decontaminate", summary, DECONTAMINATE_CHECKS)
    if summary is not None:
        rows[-1].note = rows[-1].note or (
            f"{count(summary, 'trimmed'):,} trimmed, {count(summary, 'chars_removed'):,} characters cut"
        )
    return rows


def tokenize_rows(summary: StageSummary | None) -> list[FunnelRow]:
    """Corpus documents → documents encoded (train + val); the tokens are the note."""
    if summary is None:
        return _not_run("tokenize", "tokenized", "documents")
    outcomes = _outcomes(summary)
    empty = outcomes.get(EMPTY_TEXT, 0)
    documents = count(summary, "documents")
    split_documents = ", ".join(f"{split} {outcomes.get(split, 0):,}" for split in TOKEN_SPLITS)
    note = (
        f"{count(summary, 'tokens'):,} tokens (train {count(summary, 'train_tokens'):,}, "
        f"val {count(summary, 'val_tokens'):,}); documents {split_documents}"
    )
    return [FunnelRow("tokenize", "tokenized", "documents", documents + empty, documents, {EMPTY_TEXT: empty}, note)]


ROWS: dict[str, Callable[[StageSummary | None], list[FunnelRow]]] = {
    "harvest": harvest_rows,
    "fetch": fetch_rows,
    "extract": extract_rows,
    "dedup": lambda summary: check_rows("dedup", summary, DEDUP_CHECKS),
    "filter": lambda summary: check_rows("filter", summary, FILTER_CHECKS),
    "decontaminate": decontaminate_rows,
    "tokenize": tokenize_rows,
}
assert tuple(ROWS) == DATA_STAGES, "one row builder per data stage, in the DAG's order"


def stage_order(summaries: Mapping[str, StageSummary | None]) -> tuple[str, ...]:
    """The order the stages of these summaries ran in: FineWeb's (filter, then dedup) when dedup read the filter's
    output folder, else the DAG's."""
    dedup, filtered = summaries.get("dedup"), summaries.get("filter")
    read = dedup.details.get("docs_dir") if dedup is not None else None
    if read and filtered is not None and Path(read).resolve() == Path(filtered.out_dir).resolve():
        return STAGE_ORDERS[FILTER_FIRST]
    return DATA_STAGES


def funnel(summaries: Mapping[str, StageSummary | None]) -> list[FunnelRow]:
    """Every step of the run, in the order it ran; a stage without a summary gives one row saying it did not run."""
    rows: list[FunnelRow] = []
    for stage in stage_order(summaries):
        rows += ROWS[stage](summaries.get(stage))
    for row in rows:
        if row.ran:
            assert row.count_in is not None and row.count_out is not None
            assert row.count_in - row.count_out == sum(row.dropped.values()), f"{row.step}: reasons do not add up"
    return rows


def consistency(rows: list[FunnelRow]) -> list[str]:
    """Where a step's in is not the previous step's out (both ran; within a stage only where the unit stays)."""
    gaps = []
    for before, after in itertools.pairwise(rows):
        if not (before.ran and after.ran) or before.count_out == after.count_in:
            continue
        if before.stage == after.stage and before.unit != after.unit:
            continue  # submissions grouped into URLs: no equality to expect
        gaps.append(
            f"{after.stage} ({after.step}) read {after.count_in:,} {after.unit}, but {before.stage} "
            f"({before.step}) left {before.count_out:,}: a folder holds other or older output than its input"
        )
    return gaps
