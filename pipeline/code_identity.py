"""Which of the project's code can change a stage's outputs, and its fingerprint.

A stage's units are keyed by what they read, their settings and ``code_fingerprint(<the stage's package>)``.
The fingerprint covers the package and every project module it imports, transitively: ``records``,
``shards``, ``rejects``, the URL helpers extract borrows from harvest, whatever else a line of it imports,
imports inside functions included (the AST is read, nothing is imported). An edit to any of those files redoes
the stage's units; an edit elsewhere does not. The modules that cannot change an output (progress bars, the
folder lock) are left out by name, in ``WITHOUT_OUTPUT_EFFECT``, and nothing else is.

Harvest and fetch do not use it: they ingest, and a code edit must never re-read the dumps or refetch the
web; their units are keyed by what they read.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import threading
from pathlib import Path

import pipeline

PROJECT_PACKAGES = ("pipeline", "training", "evaluation", "flows")
WITHOUT_OUTPUT_EFFECT = frozenset(
    {
        "pipeline.progress",  # progress bars and their counters
        "pipeline.lock",  # who holds an output folder
    }
)


# CPython 3.11 before 3.11.9 can fail an ast.parse that runs while another thread parses too ("AST constructor
# recursion depth mismatch", gh-106905): a served flow's tasks and Prefect's own threads do. Ours take turns, and
# a parse that met a foreign thread's is tried again.
_PARSE_LOCK = threading.Lock()
PARSE_TRIES = 3


def parse_source(source: bytes, filename: str) -> ast.Module:
    """``ast.parse``, safe against the 3.11 race above."""
    for attempt in range(PARSE_TRIES):
        try:
            with _PARSE_LOCK:
                return ast.parse(source, filename=filename)
        except SystemError as error:
            if "recursion depth mismatch" not in str(error) or attempt == PARSE_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def project_root() -> Path:
    """The folder that holds the project's packages (the repository, or the copy this process runs from)."""
    return Path(pipeline.__file__).resolve().parent.parent


@functools.cache
def code_fingerprint(*packages: str) -> str:
    """A short hash of the code that can shape the outputs of ``packages`` (see the module's docstring): each file by
    module name and bytes; computed once per process."""
    digest = hashlib.sha256()
    for module, path in sorted(code_closure(packages).items()):
        source = path.read_bytes()
        digest.update(f"{module}\0{len(source)}\0".encode())
        digest.update(source)
    return digest.hexdigest()[:16]


def code_closure(packages: tuple[str, ...] | list[str]) -> dict[str, Path]:
    """Module name -> file of every module of ``packages`` and of every project module they import, transitively,
    less ``WITHOUT_OUTPUT_EFFECT``."""
    root = project_root()
    todo: list[str] = []
    for name in packages:
        if module_file(root, name) is None and not root.joinpath(*name.split(".")).is_dir():  # a namespace package
            raise ModuleNotFoundError(f"code_fingerprint: no project package or module named {name!r}")
        todo += [name, *package_modules(root, name)]
    found: dict[str, Path] = {}
    while todo:
        module = todo.pop()
        if module in found or module in WITHOUT_OUTPUT_EFFECT:
            continue
        path = module_file(root, module)
        if path is None:  # a name imported from a module, not a module
            continue
        found[module] = path
        todo += imported_modules(module, path)
    return found


def module_file(root: Path, module: str) -> Path | None:
    """``a.b`` -> ``root/a/b.py`` or ``root/a/b/__init__.py``; None when neither exists."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def package_modules(root: Path, package: str) -> list[str]:
    """Every module under a package's folder (subpackages included); none for a plain module."""
    folder = root.joinpath(*package.split("."))
    if not folder.is_dir():
        return []
    modules = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def imported_modules(module: str, path: Path) -> list[str]:
    """The project modules ``module``'s source imports anywhere, with the packages above each (importing ``a.b.c``
    runs ``a`` and ``a.b`` too); a ``from X import name`` lists ``X.name``, which is kept only if it is a module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(parse_source(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            names += [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]
    wanted = []
    for name in names:
        parts = name.split(".")
        if parts[0] in PROJECT_PACKAGES:
            wanted += [".".join(parts[: end + 1]) for end in range(len(parts))]
    return wanted


def _absolute(name: str | None, level: int, package: str) -> str:
    """The absolute module of ``from <level dots><name> import ...`` written in ``package``."""
    if level == 0:
        return name or ""
    parts = package.split(".")
    anchor = ".".join(parts[: len(parts) - level + 1])
    return f"{anchor}.{name}" if name else anchor
