"""The README and docs/ stay true to the code, cheaply: links resolve, commands parse, named files exist.

Checked in README.md and docs/*.md: every relative link (and its #anchor) points to a file (and a
heading) that exists; every ``webtext ...`` command in a ```bash block parses with the real CLI parser;
every ``--flag`` in inline code is one the CLI has; every settings-table row (YAML key, flag, default)
matches the flag's config field and the default ``--help`` shows, and every setting has a row; every
```yaml block is a valid run config; every ``tests/...`` path (and ``::test_name``) and every
repository path in inline code exists.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from flows.config import load_run_config
from pipeline.cli import build_parser
from pipeline.services.config import SERVICE_FIELDS, Services
from pipeline.settings import config_fields

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([REPO_ROOT / "README.md", *(REPO_ROOT / "docs").glob("*.md")])
COMMANDS = ("sample", "sample-web", "harvest", "fetch", "extract", "dedup", "filter", "quality train")
COMMANDS += ("decontaminate", "overlap", "tokenize", "train", "evaluate", "compare", "lineage")
# The commands whose settings each stage page's tables describe.
TABLE_COMMANDS = {
    "harvest.md": ("harvest",),
    "fetch.md": ("fetch",),
    "extract.md": ("extract",),
    "dedup.md": ("dedup",),
    "filter.md": ("filter", "quality train"),
    "decontaminate.md": ("decontaminate",),
    "tokenize.md": ("tokenize",),
    "train.md": ("train",),
    "evaluate.md": ("evaluate",),
}
OTHER_TOOLS_FLAGS = {"--config"}  # python -m flows.webtext / flows.serve / flows.demo
SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "2>", "<"}
REPO_DIRS = ("pipeline", "flows", "tests", "bench", "infra", "docs", "training", "evaluation")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
TEST_PATH = re.compile(r"\btests/[\w/.-]+\.py(?:::\w+)?")
TABLE_ROW = re.compile(r"^\| `([\w.]+)` \| `(--[\w-]+)` \| (.+?) \| .* \|$", re.MULTILINE)


def doc_id(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def fenced_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.DOTALL | re.MULTILINE)


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """Each ``webtext`` command's own parser, ``quality train`` included."""
    parsers: dict[str, argparse.ArgumentParser] = {}
    for action in build_parser()._subparsers._group_actions:  # argparse keeps subcommands here
        for name, parser in action.choices.items():
            parsers[name] = parser
            for sub_action in parser._subparsers._group_actions if parser._subparsers else ():
                parsers.update({f"{name} {sub}": sub_parser for sub, sub_parser in sub_action.choices.items()})
    return parsers


def webtext_commands(block: str) -> list[list[str]]:
    """The arguments after ``webtext`` (or ``.venv/bin/webtext``) of each command line in a bash block."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        tokens = shlex.split(line, comments=True)
        starts = [index for index, token in enumerate(tokens) if token == "webtext" or token.endswith("/webtext")]
        if not starts:
            continue
        argv = tokens[starts[0] + 1 :]
        cut = next((index for index, token in enumerate(argv) if token in SHELL_OPERATORS), len(argv))
        commands.append(argv[:cut])
    return commands


def all_commands() -> list[tuple[str, list[str]]]:
    return [
        (doc_id(path), argv)
        for path in DOCS
        for block in fenced_blocks(path.read_text(encoding="utf-8"), "bash")
        for argv in webtext_commands(block)
    ]


def test_docs_exist() -> None:
    names = {path.name for path in DOCS}
    assert {"README.md", "configuration.md", "harvest.md", "fetch.md", "extract.md", "dedup.md", "filter.md"} <= names


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_relative_links_point_to_existing_files_and_headings(path: Path) -> None:
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{doc_id(path)} links to missing {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in heading_anchors(linked), f"{doc_id(path)} links to missing heading {target}"


def test_webtext_commands_in_bash_blocks_parse_with_the_cli() -> None:
    commands = all_commands()
    for where, argv in commands:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            try:
                build_parser().parse_args(argv)
            except SystemExit as exit_:
                assert exit_.code == 0, f"{where}: `webtext {shlex.join(argv)}` does not parse: {stderr.getvalue()}"
    shown = {" ".join(argv[:2]) if argv[:1] == ["quality"] else argv[0] for _, argv in commands if argv}
    assert set(COMMANDS) <= shown, f"no example of {sorted(set(COMMANDS) - shown)} in README.md or docs/"


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_flags_in_inline_code_exist(path: Path) -> None:
    known = {flag for parser in command_parsers().values() for flag in parser._option_string_actions}
    for span in INLINE_CODE.findall(path.read_text(encoding="utf-8")):
        if span.startswith("--"):
            flag = span.split()[0].split("=")[0]
            assert flag in known | OTHER_TOOLS_FLAGS, f"{doc_id(path)} names {flag}, which no webtext command has"


def field_key(key: str) -> str:
    """A table's YAML key as the stage config's field: ``services.ray.address`` is ``ray_address``,
    ``services.spark.master`` is ``spark.master`` (pipeline.services.config.SERVICE_FIELDS)."""
    path = key.removeprefix("services.")
    for name, where in SERVICE_FIELDS.items():
        if key.startswith("services.") and (path == where or path.startswith(where + ".")):
            return name + path.removeprefix(where)
    return key


@pytest.mark.parametrize("name", sorted(TABLE_COMMANDS))
def test_settings_tables_match_the_config_fields_and_defaults(name: str) -> None:
    parsers = command_parsers()
    actions = [parsers[command]._option_string_actions for command in TABLE_COMMANDS[name]]
    rows = TABLE_ROW.findall((REPO_ROOT / "docs" / name).read_text(encoding="utf-8"))
    assert rows, f"docs/{name} has no settings table"
    for key, flag, default in rows:
        matches = [by_flag[flag] for by_flag in actions if flag in by_flag]
        field = field_key(key)
        matches = [action for action in matches if action.dest in (field, f"config.{field}")]
        assert matches, f"docs/{name}: `{key}` is not the field behind {flag}"
        shown = re.fullmatch(r"`([^`]*)`", default.strip())
        if shown and matches[0].help and "(default: " in matches[0].help:
            actual = matches[0].help.replace("%%", "%").rsplit("(default: ", 1)[1].removesuffix(")")
            assert shown.group(1) == actual, f"docs/{name}: {flag} defaults to {actual!r}, not {shown.group(1)!r}"


@pytest.mark.parametrize("name", sorted(TABLE_COMMANDS))
def test_settings_tables_list_every_setting(name: str) -> None:
    """A setting added to a config must reach its stage page too (flags that are not settings, like --out, need not)."""
    parsers = command_parsers()
    listed = {flag for _, flag, _ in TABLE_ROW.findall((REPO_ROOT / "docs" / name).read_text(encoding="utf-8"))}
    for command in TABLE_COMMANDS[name]:
        settings = {
            action.option_strings[0]
            for action in parsers[command]._actions
            if action.option_strings and action.dest.startswith(("config.", "reddit_api."))
        }
        missing = sorted(settings - listed)
        assert not missing, f"docs/{name} has no settings-table row for {missing} (webtext {command})"


def setting_keys(cls: type, prefix: str) -> set[str]:
    """Every YAML key of config ``cls`` (nested configs spelled out), each under ``prefix``."""
    keys: set[str] = set()
    for field in config_fields(cls):
        name = prefix + field.name
        keys |= setting_keys(field.nested, name + ".") if field.nested else {name}
    return keys


def test_the_services_table_lists_every_service_setting() -> None:
    """docs/configuration.md has a row per setting of the run config's ``services`` section, and no other."""
    text = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(services\.[\w.]+)` \|", text, re.MULTILINE))
    expected = setting_keys(Services, "services.")
    assert rows == expected, f"missing {sorted(expected - rows)}, unknown {sorted(rows - expected)}"


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_yaml_blocks_are_valid_run_configs(path: Path, tmp_path: Path) -> None:
    for number, block in enumerate(fenced_blocks(path.read_text(encoding="utf-8"), "yaml")):
        config = tmp_path / f"block-{number}.yaml"
        config.write_text(block, encoding="utf-8")
        load_run_config(config)  # raises ConfigError naming the key


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_named_tests_exist(path: Path) -> None:
    for mention in TEST_PATH.findall(path.read_text(encoding="utf-8")):
        file_part, _, test_name = mention.partition("::")
        test_file = REPO_ROOT / file_part
        assert test_file.is_file(), f"{doc_id(path)} names {file_part}, which does not exist"
        if test_name:
            assert f"def {test_name}(" in test_file.read_text(encoding="utf-8"), f"{doc_id(path)}: no {mention}"


@pytest.mark.parametrize("path", DOCS, ids=doc_id)
def test_repository_paths_in_inline_code_exist(path: Path) -> None:
    for span in INLINE_CODE.findall(path.read_text(encoding="utf-8")):
        if not span.startswith(tuple(f"{directory}/" for directory in REPO_DIRS)) or re.search(r"[\s<>*{…]", span):
            continue
        assert (REPO_ROOT / span.split("::")[0].split(":")[0]).exists(), f"{doc_id(path)} names missing {span}"
