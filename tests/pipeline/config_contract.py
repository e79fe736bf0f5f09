"""A stage config's three faces, read back for its ``test_config.py``: the ``webtext <stage>`` flags, the YAML
section and the stage page's settings table, so a test can check they list the same settings the same way."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path
from typing import Any

from pipeline.cli import build_parser
from pipeline.services.config import SERVICE_FIELDS
from pipeline.settings import section_defaults

DOCS = Path(__file__).resolve().parents[2] / "docs"
TABLE_ROW = re.compile(r"^\| `([\w.]+)` \| (`--[\w-]+`|[^|]+?) \| (.+?) \| .* \|$", re.MULTILINE)
SHOWN = re.compile(r"`([^`]*)`")


@dataclasses.dataclass(frozen=True)
class Setting:
    flag: str
    default: str  # as `--help` shows it; a docs cell without backticks is kept as written ("29 hosts")


def command_parser(command: str) -> argparse.ArgumentParser:
    """The parser of ``webtext <command>`` (``quality train``: a subcommand's subcommand)."""
    parser = build_parser()
    for word in command.split():
        parser = parser._subparsers._group_actions[0].choices[word]
    return parser


def cli_settings(command: str, dests: tuple[str, ...] = ("config.",)) -> dict[str, Setting]:
    """YAML key -> flag and shown default of every settings flag of ``webtext <command>``. A flag whose dest starts
    with ``config.`` is the key without it (``language.min_score``); another of ``dests`` keeps its prefix
    (``reddit_api.max_pages``)."""
    settings = {}
    for action in command_parser(command)._actions:
        prefix = next((prefix for prefix in dests if action.dest.startswith(prefix)), None)
        if prefix is None:
            continue
        key = action.dest.removeprefix("config.")
        default = action.help.replace("%%", "%").rsplit("(default: ", 1)[1].removesuffix(")")
        settings[key] = Setting(action.option_strings[0], default)
    return settings


def yaml_keys(cls: type) -> set[str]:
    """Every key of ``cls``'s YAML section, a nested config's keys spelled out (``spark.master``)."""

    def flatten(section: dict[str, Any], prefix: str) -> set[str]:
        keys: set[str] = set()
        for name, value in section.items():
            is_nested = isinstance(value, dict) and value and name != "resolve"
            keys |= flatten(value, f"{prefix}{name}.") if is_nested else {prefix + name}
        return keys

    return flatten(section_defaults(cls), "")


def run_config_key(key: str) -> str:
    """A stage setting's key as the run config writes it: a service setting under ``services``
    (``spark.master`` is ``services.spark.master``)."""
    field, _, rest = key.partition(".")
    if field not in SERVICE_FIELDS:
        return key
    return "services." + SERVICE_FIELDS[field] + (f".{rest}" if rest else "")


def docs_settings(page: str) -> dict[str, Setting]:
    """YAML key -> flag and default cell of every row of ``docs/<page>``'s settings tables."""
    rows: dict[str, Setting] = {}
    for key, flag, default in TABLE_ROW.findall((DOCS / page).read_text(encoding="utf-8")):
        assert key not in rows, f"docs/{page} lists {key} twice"
        rows[key] = Setting(flag.strip("`"), default.strip())
    return rows


def shown(cell: str) -> str | None:
    """The value a docs default cell shows in backticks (``None`` for a description such as "one per core")."""
    match = SHOWN.fullmatch(cell)
    return match.group(1) if match else None


def disagreements(cli: dict[str, Setting], docs: dict[str, Setting]) -> list[str]:
    """Each CLI setting the docs leave out, name under another flag, or show with another default."""
    problems = []
    for key, setting in sorted(cli.items()):
        row = docs.get(run_config_key(key))
        if row is None:
            problems.append(f"{run_config_key(key)} ({setting.flag}) is not documented")
        elif row.flag != setting.flag:
            problems.append(f"{key}: the docs say {row.flag}, the CLI {setting.flag}")
        elif shown(row.default) not in (None, setting.default):
            problems.append(f"{key}: the docs say the default is {row.default}, --help says {setting.default}")
    return problems
