"""Markdown rendering of the report's tables: plain GitHub tables, numbers right-aligned with thousands separators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def cell(value: Any) -> str:
    """A value as table text: ints with separators, floats to 4 significant places, None empty, pipes escaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """``rows`` as a Markdown table with ``columns`` (default: the first row's keys); numeric columns right-aligned."""
    if not rows:
        return "_(empty)_\n"
    columns = list(columns or rows[0].keys())
    numeric = [
        all(isinstance(row.get(column), int | float) or row.get(column) is None for row in rows)
        and any(row.get(column) is not None for row in rows)
        for column in columns
    ]
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join(" ---: " if right else " --- " for right in numeric) + "|",
    ]
    lines += ["| " + " | ".join(cell(row.get(column)) for column in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def section(title: str, *parts: str) -> str:
    """A ``##`` section of non-empty parts, separated by blank lines."""
    body = "\n".join(part.rstrip("\n") + "\n" for part in parts if part)
    return f"## {title}\n\n{body}"


def image(alt: str, filename: str) -> str:
    return f"![{alt}]({filename})\n"


def bullets(lines: Sequence[str]) -> str:
    return "".join(f"- {line}\n" for line in lines)
