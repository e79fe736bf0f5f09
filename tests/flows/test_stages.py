"""What the flow's decontaminate step cuts: the section's own eval sets and every benchmark the evaluate section
will score (found as evaluation finds it), so the demo never evaluates on a set it left in its corpus."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from flows.config import load_run_config
from flows.stages import decontamination_sets

CONFIGS = Path(__file__).resolve().parents[2] / "flows" / "configs"


@pytest.fixture
def eval_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """LAMBADA and WikiText-2 under their release names in ``$WEBTEXT_EVAL_DIR``, as the demo sets it."""
    folder = tmp_path / "eval"
    folder.mkdir()
    (folder / "lambada_test.jsonl").write_text(json.dumps({"text": "the lamp was lit by the keeper"}) + "\n")
    (folder / "wikitext-2.test.txt").write_text(" = Tu Fu = \n\n Tu Fu was a poet . \n")
    monkeypatch.chdir(tmp_path)  # no data/eval under the working directory
    monkeypatch.setenv("WEBTEXT_EVAL_DIR", str(folder))
    return folder


def test_the_demo_cuts_every_set_it_evaluates_on(eval_dir: Path) -> None:
    config = load_run_config(CONFIGS / "sample.yaml")
    eval_sets, uncut = decontamination_sets(config.decontaminate, config.evaluate)
    assert [(item.name, item.format) for item in eval_sets] == [
        ("sample_lambada", "benchmark"),
        ("lambada", "benchmark"),
        ("wikitext2", "benchmark"),
    ]
    assert eval_sets[1].path == eval_dir / "lambada_test.jsonl" and uncut == []
    assert list(eval_sets[1].texts()) == ["the lamp was lit by the keeper"]


def test_without_the_eval_files_the_demo_cuts_its_own_set_alone(
    eval_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEBTEXT_EVAL_DIR")
    config = load_run_config(CONFIGS / "sample.yaml")
    eval_sets, uncut = decontamination_sets(config.decontaminate, config.evaluate)
    assert [item.name for item in eval_sets] == ["sample_lambada"] and uncut == []


def test_evaluated_sets_off_names_what_is_evaluated_but_not_cut(eval_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "decontaminate: {eval_sets: [wikitext2=text:wiki.txt], evaluated_sets: false}\n"
        "evaluate: {tasks: [lambada, wikitext2, ptb]}\n",  # ptb: no file, so not evaluated either
        encoding="utf-8",
    )
    config = load_run_config(path)
    eval_sets, uncut = decontamination_sets(config.decontaminate, config.evaluate)
    assert [item.name for item in eval_sets] == ["wikitext2"] and uncut == ["lambada"]
    on = config.decontaminate.model_copy(update={"evaluated_sets": True})
    assert [item.name for item in decontamination_sets(on, config.evaluate)[0]] == ["wikitext2", "lambada"]


def test_the_demo_with_the_shared_eval_files(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBTEXT_EVAL_DIR", str(shared_data / "eval"))  # what flows/demo.py does when it is there
    config = load_run_config(CONFIGS / "sample.yaml")
    eval_sets, _ = decontamination_sets(config.decontaminate, config.evaluate)
    assert {item.name: item.path for item in eval_sets if item.name != "sample_lambada"} == {
        "lambada": shared_data / "eval" / "lambada_test.jsonl",
        "wikitext2": shared_data / "eval" / "wikitext-2.test.txt",
    }
    assert len(eval_sets[2].ngrams(13)) > 50_000


def test_the_task_cuts_those_sets_and_warns_about_the_sets_it_leaves_and_unmasked_personal_data(
    eval_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from flows import stages
    from pipeline.stage import StageSummary

    given: dict[str, list[str]] = {}

    def fake_stage(docs_dir: Path, out_dir: Path, cfg: object, eval_sets: list, *rest: object, **options: object):
        given["sets"] = [item.name for item in eval_sets]
        return StageSummary("decontaminate", str(out_dir), {}, {"documents": 0}, 0, 0, 0.0)

    monkeypatch.setattr(stages, "run_decontaminate", fake_stage)
    monkeypatch.setattr(stages, "get_run_logger", lambda: logging.getLogger("flows.test"))
    config = load_run_config(CONFIGS / "sample.yaml")
    stages.decontaminate_documents.fn(config.decontaminate, config.evaluate, tmp_path / "docs", tmp_path / "corpus")
    assert given["sets"] == ["sample_lambada", "lambada", "wikitext2"] and "WARNING" not in caplog.text
    off = config.decontaminate.model_copy(update={"evaluated_sets": False})
    with caplog.at_level(logging.WARNING, logger="flows.test"):
        stages.decontaminate_documents.fn(off, config.evaluate, tmp_path / "docs", tmp_path / "corpus")
    assert given["sets"] == ["sample_lambada"]
    assert "evaluates on lambada, wikitext2 but does not cut them" in caplog.text
    unmasked = config.decontaminate.with_config(dataclasses.replace(config.decontaminate.config(), mask_pii=False))
    with caplog.at_level(logging.WARNING, logger="flows.test"):
        stages.decontaminate_documents.fn(unmasked, config.evaluate, tmp_path / "docs", tmp_path / "corpus")
    assert "mask_pii is off" in caplog.text
