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


class RecordedStages:
    """The flow's data steps replaced by recorders: which folder each step read and wrote, and in which order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from flows import stages

        self.calls: list[tuple[str, Path, Path]] = []
        self.spark_at_dedup: list[object] = []

        def step(name: str, position: int = 0):
            def record(*args: object, **options: object) -> dict:
                paths = [arg for arg in args if isinstance(arg, Path)]
                self.calls.append((name, paths[position], paths[position + 1]))
                if name == "dedup":
                    self.spark_at_dedup.append(args[-1])
                return {"model": str(paths[-1] / "model.bin")} if name == "quality" else {}

            return record

        monkeypatch.setattr(stages, "dedup_documents", step("dedup"))
        monkeypatch.setattr(stages, "train_quality_classifier", step("quality"))
        monkeypatch.setattr(stages, "filter_documents", step("filter"))
        monkeypatch.setattr(stages, "decontaminate_documents", step("decontaminate"))

    def run(self, config: object, spark: object = None) -> list[tuple[str, str, str]]:
        from flows import stages

        stages.data_stages(config, shards=None, spark=spark)
        root = config.data_root
        return [(name, str(read.relative_to(root)), str(wrote.relative_to(root))) for name, read, wrote in self.calls]


def middle_stages_config(tmp_path: Path, order: str, extra: str = "") -> object:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"data_root: {tmp_path / 'run'}\norder: {order}\nstages: [dedup, filter, decontaminate]\n"
        f"quality_train: {{negatives: [{tmp_path / 'crawl.jsonl'}]}}\n{extra}",
        encoding="utf-8",
    )
    return load_run_config(path)


def test_the_cards_order_dedups_extracted_documents_then_filters_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = middle_stages_config(tmp_path, "dedup_first")
    assert RecordedStages(monkeypatch).run(config) == [
        ("dedup", "docs/extracted", "docs/deduped"),
        ("quality", "docs/deduped", "models/quality"),  # positives: what the filter reads
        ("filter", "docs/deduped", "docs/filtered"),
        ("decontaminate", "docs/filtered", "corpus"),
    ]
    assert list(config.stage_folders())[3:5] == ["dedup", "filter"]
    assert config.input_dir("fetch") == config.folder("harvest")
    with pytest.raises(ValueError, match="harvest is the first stage"):  # not the last stage's folder
        config.input_dir("harvest")


def test_filter_first_filters_extracted_documents_then_dedups_what_it_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = middle_stages_config(tmp_path, "filter_first")
    assert RecordedStages(monkeypatch).run(config) == [
        ("quality", "docs/extracted", "models/quality"),
        ("filter", "docs/extracted", "docs/filtered"),
        ("dedup", "docs/filtered", "docs/deduped"),
        ("decontaminate", "docs/deduped", "corpus"),
    ]
    assert list(config.stage_folders())[3:5] == ["filter", "dedup"]  # a corpus version lists them as they ran
    assert config.model_dump()["order"] == "filter_first"  # and records the order with the config


def test_an_unknown_order_is_named(tmp_path: Path) -> None:
    from flows.config import ConfigError

    with pytest.raises(ConfigError, match="order"):
        middle_stages_config(tmp_path, "dedup_last")


class FakeSession:
    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1


@pytest.mark.parametrize(
    ("extra", "open_after_dedup"),
    [
        ("", False),  # no Wikipedia dumps: nothing else uses Spark, the JVM stops before the filter
        ("decontaminate: {wikipedia_dumps: [wiki.xml.bz2], join: auto}\n", True),  # the join may use it
        ("decontaminate: {wikipedia_dumps: [wiki.xml.bz2], join: local}\n", False),
    ],
)
def test_the_runs_spark_session_is_shared_and_stopped_once_no_later_job_needs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, open_after_dedup: bool
) -> None:
    import pickle

    from flows import stages
    from pipeline.spark import session as spark_session_module
    from pipeline.spark.session import SharedSession

    built: list[FakeSession] = []

    def build(cfg: object, input_bytes: int | None = None) -> FakeSession:
        built.append(FakeSession())
        return built[-1]

    monkeypatch.setattr(spark_session_module, "build_session", build)
    config = middle_stages_config(tmp_path, "dedup_first", extra)

    def dedup(section: object, docs_dir: Path, out_dir: Path, replace: bool, spark: SharedSession) -> dict:
        with spark_session_module.spark_session(config.dedup.config().spark, spark, 1000):  # as run_dedup uses it
            return {}

    RecordedStages(monkeypatch)
    monkeypatch.setattr("flows.stages.dedup_documents", dedup)
    shared = SharedSession()
    stages.data_stages(config, shards=None, spark=shared)
    assert len(built) == 1 and shared.started == open_after_dedup and built[0].stopped == (0 if open_after_dedup else 1)
    assert shared.get(config.dedup.config().spark) is (built[0] if open_after_dedup else built[1])
    shared.close()
    assert built[-1].stopped == 1 and not shared.started
    with pytest.raises(TypeError, match="cannot be sent to another"):
        pickle.dumps(shared)
