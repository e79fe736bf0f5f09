"""No import circles among the project's modules, imports inside functions counted: each module can be read (and
tested) knowing only the modules below it."""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "training", "evaluation", "flows", "infra")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    """Every project module by dotted name (a package by its ``__init__.py``)."""
    return {module_name(path): path for package in PACKAGES for path in sorted((REPO_ROOT / package).rglob("*.py"))}


def imported_modules(path: Path, module: str, modules: set[str]) -> set[str]:
    """The project modules an import statement anywhere in ``path`` names: ``import a.b`` names ``a.b``, ``from x
    import y`` names ``x.y`` when ``y`` is a submodule, else ``x``; relative imports resolve against ``module``. A
    package's ``__init__`` that runs on the way to a submodule is not counted (as import-linter's grimp counts)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {found for name in names if (found := innermost(name, modules)) is not None} - {module}


def innermost(name: str, modules: set[str]) -> str | None:
    """The longest project module ``name`` starts with (``pipeline.shards.read_json`` is ``pipeline.shards``)."""
    parts = name.split(".")
    return next((".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in modules), None)


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    modules = project_modules()
    return {module: imported_modules(path, module, set(modules)) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def a_circle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One circle through the component's first module, as ``a -> b -> ... -> a`` (a breadth-first search)."""
    members, start = set(component), component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"{component} is not a circle")


def test_the_graph_sees_imports_inside_functions_and_submodules(tmp_path: Path) -> None:
    module = tmp_path / "mod.py"
    module.write_text("import os\n\ndef f():\n    from evaluation import adapter\n    from . import sibling\n")
    known = {"evaluation", "evaluation.adapter", "evaluation.mod", "evaluation.sibling"}
    assert imported_modules(module, "evaluation.mod", known) == {"evaluation.adapter", "evaluation.sibling"}
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert a_circle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_circles() -> None:
    graph = import_graph()
    assert "evaluation.adapter" in graph["evaluation.model_loading"]  # the graph sees the project's imports
    circles = [" -> ".join(a_circle(graph, component)) for component in cycles(graph)]
    assert not circles, "import circles (imports inside functions count):\n" + "\n".join(circles)


# docs/architecture.md's floors, lowest first: a module imports only from its own floor or the floors below, and
# no stage imports another stage (what two stages share sits on a floor below them both)
FLOORS: tuple[tuple[str, ...], ...] = (
    (
        "pipeline",
        "pipeline.shards",
        "pipeline.records",
        "pipeline.rejects",
        "pipeline.settings",
        "pipeline.validation",
        "pipeline.lock",
        "pipeline.progress",
        "pipeline.net",
        "pipeline.urls",
        "pipeline.warc_members",
        "pipeline.benchmarks",
    ),
    (
        "pipeline.stage",
        "pipeline.code_identity",
        "pipeline.layout",
        "pipeline.services",
        "pipeline.spark",
        "pipeline.tracking",
    ),
    STAGES := (
        "pipeline.harvest",
        "pipeline.fetch",
        "pipeline.extract",
        "pipeline.dedup",
        "pipeline.filter",
        "pipeline.decontaminate",
        "pipeline.tokenize",
        "pipeline.sample",
    ),
    ("pipeline.lineage", "pipeline.lineage_trace", "pipeline.report"),
    ("training",),
    ("evaluation",),
    ("pipeline.cli",),
    ("flows",),
    ("infra",),
)


def part_of(module: str) -> str:
    """The floor entry a module belongs to: the longest entry it is, or is inside."""
    entries = [entry for floor in FLOORS for entry in floor if module == entry or module.startswith(f"{entry}.")]
    assert entries, f"{module} is on no floor: add it to FLOORS and to docs/architecture.md"
    return max(entries, key=len)


def test_imports_never_run_up_a_floor_nor_across_stages() -> None:
    floor_of = {entry: number for number, floor in enumerate(FLOORS) for entry in floor}
    wrong = []
    for module, imported in import_graph().items():
        here = part_of(module)
        for target in imported:
            there = part_of(target)
            if floor_of[there] > floor_of[here] or (here != there and {here, there} <= set(STAGES)):
                wrong.append(f"{module} ({here}) imports {target} ({there})")
    assert not wrong, "imports against the floors of docs/architecture.md:\n" + "\n".join(sorted(wrong))
