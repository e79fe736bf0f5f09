"""The corpus's personal data: how many email addresses, phone numbers and IP addresses decontaminate masked.

Read from decontaminate's ``summary.json``: its ``pii_*`` counts (the names ``pipeline.decontaminate.pii`` gives
them) and its ``config.mask_pii``. A corpus built with masking off gets a warning instead of a table, and one
decontaminated by a webtext that did not mask yet says so, so no reader takes a missing count for a zero.
"""

from __future__ import annotations

from typing import Any

from pipeline.decontaminate.pii import KINDS, PLACEHOLDERS, SUMMARY_COUNTS
from pipeline.report.folders import count
from pipeline.report.markdown import table
from pipeline.stage import StageSummary

INTRO = (
    "Email addresses, phone numbers and IP addresses in the corpus's text, replaced by one placeholder per kind "
    "(decontaminate's `mask_pii`; docs/decontaminate.md, Personal data).\n"
)
NOT_MASKED = (
    "**Not masked**: decontaminate ran with `mask_pii` off, so the corpus may hold email addresses, phone numbers "
    "and IP addresses.\n"
)
NOT_RECORDED = "_Not recorded: the corpus was decontaminated before personal data was masked._\n"


def masked(summary: StageSummary | None) -> bool | None:
    """Whether decontaminate masked personal data: None when it did not run or did not record it."""
    if summary is None or "mask_pii" not in summary.config:
        return None
    return bool(summary.config["mask_pii"])


def personal_data_table(summary: StageSummary | None) -> list[dict[str, Any]]:
    """One row per kind, its placeholder and the placeholders put in; empty unless decontaminate masked."""
    if not masked(summary):
        return []
    return [
        {"kind": kind, "placeholder": PLACEHOLDERS[kind], "masked": count(summary, SUMMARY_COUNTS[kind])}
        for kind in KINDS
    ]


def personal_data_text(summary: StageSummary | None, rows: list[dict[str, Any]]) -> str:
    """The section's body: the table, or why there is none."""
    if summary is None:
        return "_decontaminate: not run._\n"
    state = masked(summary)
    if state is None:
        return NOT_RECORDED
    return INTRO + "\n" + (table(rows) if state else NOT_MASKED)
