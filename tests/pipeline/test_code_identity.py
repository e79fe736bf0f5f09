"""Code fingerprints see every line that can shape a stage's output: its package and the project modules it
imports, transitively, imports inside functions included; a short, explicit list of modules is left out.

The edits are real: a temporary copy of ``pipeline/`` is edited file by file, and the decontaminate stage, run
from that copy in a fresh process each time, redoes its units or skips them.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import code_identity
from pipeline.code_identity import WITHOUT_OUTPUT_EFFECT, code_closure, imported_modules, module_file, project_root

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("pipeline.extract", "pipeline.dedup", "pipeline.filter", "pipeline.decontaminate", "pipeline.tokenize")
PASSAGE = "the lighthouse keeper counted forty two gulls before the storm rolled over the harbour wall at dusk"
RUN = """
import json, sys
from pathlib import Path
import pipeline
from pipeline.decontaminate.config import DecontaminateConfig
from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.stage import run_decontaminate

docs, out, spec = sys.argv[1:]
summary = run_decontaminate(Path(docs), Path(out), DecontaminateConfig(workers=1), eval_sets=[EvalSet.parse(spec)])
print(json.dumps({"code": pipeline.__file__, "done": summary.units_done, "skipped": summary.units_skipped}))
"""


def test_a_stage_covers_the_project_modules_it_imports_and_only_those() -> None:
    closure = code_closure(("pipeline.extract",))
    assert {"pipeline.urls", "pipeline.records", "pipeline.shards", "pipeline.rejects"} <= closure.keys()
    assert {"pipeline.extract.stage", "pipeline.extract.archive", "pipeline.warc_members"} <= closure.keys()
    assert not {"pipeline.harvest.dumps", "pipeline.fetch.warc", "training.run"} & closure.keys()
    assert not WITHOUT_OUTPUT_EFFECT & closure.keys()
    assert all(path.is_file() and path.is_relative_to(project_root()) for path in closure.values())


def test_the_modules_left_out_are_an_explicit_list_of_modules_the_stages_import() -> None:
    assert frozenset({"pipeline.progress", "pipeline.lock"}) == WITHOUT_OUTPUT_EFFECT
    imported = {
        name
        for stage in STAGES
        for module, path in code_closure((stage,)).items()
        for name in imported_modules(module, path)
    }
    for module in WITHOUT_OUTPUT_EFFECT:
        assert module_file(project_root(), module) is not None, module
        assert module in imported, f"{module} is left out but no stage imports it: drop it from the list"


def test_an_unknown_package_is_named() -> None:
    with pytest.raises(ModuleNotFoundError, match="pipeline.nowhere"):
        code_closure(("pipeline.nowhere",))


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the project's ``pipeline`` package, and a stage's input: two docs shards and an eval set."""
    code = tmp_path / "code"
    shutil.copytree(ROOT / "pipeline", code / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    from token_fixtures import make_document

    from pipeline.records import Document, to_table
    from pipeline.shards import write_shard

    words = "harbour gull storm keeper wall tide rope lantern".split()
    for number in range(2):
        text = " ".join(words[(i + number) % len(words)] for i in range(120)) + f" {PASSAGE}."
        table = to_table([make_document(f"d{number}", text)], Document)
        write_shard(table, tmp_path / "docs" / f"part-{number:05d}.parquet", shard_fingerprint="test")
    (tmp_path / "lambada.jsonl").write_text(json.dumps({"text": PASSAGE}) + "\n", encoding="utf-8")
    return code


def run_stage(copy: Path) -> dict[str, object]:
    root = copy.parent
    env = {**os.environ, "PYTHONPATH": str(copy)}
    argv = [sys.executable, "-c", RUN, str(root / "docs"), str(root / "out"), f"lambada={root / 'lambada.jsonl'}"]
    result = subprocess.run(argv, env=env, cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(str(outcome["code"])).is_relative_to(copy), outcome  # the copy ran, not the repository
    return outcome


def edit(path: Path, line: str = "# an edit\n") -> None:
    path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")


@pytest.mark.e2e
def test_an_edit_to_any_imported_module_redoes_the_units_and_others_do_not(copy: Path) -> None:
    package = copy / "pipeline"
    first = run_stage(copy)
    assert (first["done"], first["skipped"]) == (2, 0)
    assert run_stage(copy)["skipped"] == 2  # nothing changed
    edit(package / "records.py")  # shared by every stage
    assert run_stage(copy)["done"] == 2
    edit(package / "urls.py")  # the shared URL helpers, which decontaminate's Wikipedia host rule uses
    assert run_stage(copy)["done"] == 2
    for unrelated in (package / "progress.py", package / "lock.py", package / "harvest" / "dumps.py"):
        edit(unrelated)
        assert run_stage(copy)["skipped"] == 2, unrelated
    (package / "late_helper.py").write_text("FACTOR = 1\n", encoding="utf-8")
    edit(package / "decontaminate" / "wikipedia.py", "\n\ndef _later():\n    from pipeline import late_helper\n")
    assert run_stage(copy)["done"] == 2  # the stage's own package changed
    edit(package / "late_helper.py")  # imported only inside a function
    assert run_stage(copy)["done"] == 2


def test_a_parse_broken_by_another_threads_parse_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """CPython 3.11's ast race (gh-106905) failed a served flow's extract; a real syntax problem is not retried."""
    real_parse, calls = ast.parse, []

    def racing_parse(source: bytes, filename: str) -> ast.Module:
        calls.append(filename)
        if len(calls) == 1:
            raise SystemError("AST constructor recursion depth mismatch (before=69, after=94)")
        return real_parse(source, filename=filename)

    monkeypatch.setattr(code_identity.ast, "parse", racing_parse)
    tree = code_identity.parse_source(b"import pipeline.records\n", "x.py")
    assert isinstance(tree.body[0], ast.Import) and calls == ["x.py", "x.py"]

    def broken_parse(source: bytes, filename: str) -> ast.Module:
        raise SystemError("some other interpreter failure")

    monkeypatch.setattr(code_identity.ast, "parse", broken_parse)
    with pytest.raises(SystemError, match="some other"):
        code_identity.parse_source(b"x = 1\n", "y.py")
