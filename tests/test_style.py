"""The code style is checked by the test command, so CI enforces it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).with_name("ruff")


def test_ruff_lint_is_clean() -> None:
    result = subprocess.run(
        [str(RUFF), "check", "--output-format", "concise", "."], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_ruff_format_is_clean() -> None:
    result = subprocess.run([str(RUFF), "format", "--check", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


PACKAGES = ("pipeline", "flows", "training", "evaluation")
MAX_MODULE_LINES = 400  # small modules, as nanoGPT's model file (docs/architecture.md)


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (REPO_ROOT / package).rglob("*.py"))


def imports_of(path: Path, library: str) -> bool:
    text = path.read_text(encoding="utf-8")
    return any(line.startswith((f"import {library}", f"from {library}")) for line in map(str.strip, text.splitlines()))


def test_modules_stay_small() -> None:
    long = {
        str(path.relative_to(REPO_ROOT)): n
        for path in modules()
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_engines_are_imported_only_where_the_architecture_allows() -> None:
    """Only flows/ imports prefect; only the Spark jobs' code imports pyspark (and the CLI, lazily, to report
    Spark's analysis errors as input errors): docs/architecture.md."""
    allowed = {
        "prefect": ("flows/",),
        "pyspark": (
            "pipeline/spark/",
            "pipeline/dedup/",
            "pipeline/decontaminate/spark_join.py",
            "pipeline/cli/__init__.py",
        ),
    }
    for library, places in allowed.items():
        offenders = [
            str(path.relative_to(REPO_ROOT))
            for path in modules()
            if imports_of(path, library) and not str(path.relative_to(REPO_ROOT)).startswith(places)
        ]
        assert not offenders, f"{library} imported outside {places}: {offenders}"
