"""The quality classifier: trained for real on a small synthetic set, its training data, and the selection."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from dedup_fixtures import make_document, write_docs
from filter_fixtures import clean_prose, spam_texts, write_jsonl

from pipeline.cli import main as webtext
from pipeline.filter.config import QualityConfig
from pipeline.filter.fasttext_models import load_model
from pipeline.filter.quality import pareto_draws, quality_scores, select
from pipeline.filter.quality_train import QualityTrainConfig, build_examples, train_quality_model


def test_classifier_separates_prose_from_spam_on_held_out_data(quality_model) -> None:
    model_path, metrics = quality_model
    assert metrics.f1 >= 0.95 and metrics.precision >= 0.9 and metrics.recall >= 0.9
    assert metrics.valid_examples == {"hq": 32, "lq": 32} and metrics.train_examples == {"hq": 128, "lq": 128}
    written = json.loads((model_path.parent / "quality.metrics.json").read_text())
    assert written["f1"] == metrics.f1 and written["fingerprint"] == metrics.fingerprint
    fresh = clean_prose(seed=99, count=20) + spam_texts(seed=98, count=20)  # never seen in training
    scores = quality_scores(fresh, QualityConfig(model_path=str(model_path)))
    assert (scores[:20] > 0.5).mean() >= 0.9 and (scores[20:] < 0.5).mean() >= 0.9


def test_a_small_held_out_split_comes_with_a_warning(quality_model) -> None:
    _, metrics = quality_model
    assert "only 32 held-out examples per class" in (metrics.caveat() or "")
    assert dataclasses.replace(metrics, valid_examples={"hq": 50, "lq": 50}).caveat() is None


def test_training_again_on_the_same_data_reuses_the_model(quality_model, tmp_path: Path) -> None:
    positives = write_jsonl(tmp_path / "p.jsonl", clean_prose(seed=1, count=30))
    negatives = write_jsonl(tmp_path / "n.jsonl", spam_texts(seed=2, count=30))
    first = train_quality_model([positives], [negatives], tmp_path / "model", QualityTrainConfig())
    model_bytes = Path(first.model).read_bytes()
    second = train_quality_model([positives], [negatives], tmp_path / "model", QualityTrainConfig())
    assert second.reused and second.f1 == first.f1 and Path(second.model).read_bytes() == model_bytes
    third = train_quality_model([positives], [negatives], tmp_path / "model", QualityTrainConfig(seed=5))
    assert not third.reused


def test_examples_from_karma_are_balanced_deduplicated_and_split_by_seed(tmp_path: Path) -> None:
    prose, spam = clean_prose(seed=3, count=40), spam_texts(seed=4, count=12)
    documents = [make_document(f"good{i}", text, karma=50) for i, text in enumerate(prose)]
    documents += [make_document(f"bad{i}", text, karma=1) for i, text in enumerate(spam)]
    documents += [make_document(f"mid{i}", text, karma=5) for i, text in enumerate(prose[:5])]  # neither class
    documents += [make_document("copy", spam[0], karma=1)]  # an exact duplicate
    write_docs(tmp_path / "docs", [documents[:30], documents[30:]])
    cfg = QualityTrainConfig(positive_min_karma=10, negative_max_karma=3, valid_fraction=0.25)
    train, valid, dropped = build_examples([tmp_path / "docs"], [tmp_path / "docs"], cfg)
    labels = [label for label, _ in train + valid]
    assert labels.count("hq") == labels.count("lq") == 12  # balanced to the smaller class
    assert dropped["duplicate"] == 1 and dropped["balance"] == 40 - 12
    assert dropped["karma_between_classes"] == 2 * 5 + 40 + 12 + 1  # each source skips the other class too
    assert sum(label == "hq" for label, _ in valid) == 3
    assert (train, valid) == build_examples([tmp_path / "docs"], [tmp_path / "docs"], cfg)[:2]
    other = build_examples([tmp_path / "docs"], [tmp_path / "docs"], dataclasses.replace(cfg, seed=1))
    assert other[1] != valid


def test_a_text_in_both_classes_is_dropped_from_both(tmp_path: Path) -> None:
    shared = clean_prose(seed=5, count=1)
    positives = write_jsonl(tmp_path / "p.jsonl", shared + clean_prose(seed=6, count=4))
    negatives = write_jsonl(tmp_path / "n.jsonl", shared + spam_texts(seed=7, count=4))
    train, valid, dropped = build_examples([positives], [negatives], QualityTrainConfig())
    assert dropped["in_both_classes"] == 2
    assert all(line != shared[0].lower() for _, line in train + valid)


def test_bad_training_input_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "fine"}\n{"body": "no text"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken.jsonl:2: not a JSON object with a 'text' field"):
        build_examples([broken], [broken], QualityTrainConfig(min_chars=0))
    with pytest.raises(FileNotFoundError, match="missing"):
        build_examples([tmp_path / "missing"], [broken], QualityTrainConfig())
    few = write_jsonl(tmp_path / "few.jsonl", clean_prose(seed=8, count=1))
    with pytest.raises(ValueError, match="too few examples to train: 1 positive"):
        build_examples([few], [write_jsonl(tmp_path / "n.jsonl", spam_texts(seed=9, count=5))], QualityTrainConfig())


def test_threshold_selection_is_inclusive() -> None:
    cfg = QualityConfig(model_path="model.bin", selection="threshold", threshold=0.5)
    keep = select(["a", "b", "c"], np.array([0.5, 0.4999, 0.9]), cfg)
    assert keep.tolist() == [True, False, True]
    assert select(["a"], np.array([0.0]), dataclasses.replace(cfg, selection="none")).tolist() == [True]


def test_pareto_selection_is_reproducible_and_order_free() -> None:
    ids = [f"doc{i}" for i in range(5000)]
    scores = np.linspace(0.0, 1.0, len(ids))
    cfg = QualityConfig(model_path="model.bin", selection="pareto", pareto_alpha=9.0, seed=7)
    keep = select(ids, scores, cfg)
    assert (keep == select(ids, scores, cfg)).all()
    reverse = select(ids[::-1], scores[::-1], cfg)[::-1]
    assert (keep == reverse).all()  # a document's draw does not depend on its position
    assert not (keep == select(ids, scores, dataclasses.replace(cfg, seed=8))).all()
    assert keep[scores > 0.99].mean() > 0.9 and keep[scores < 0.5].mean() < 0.05  # mostly high scores, a few low
    assert 0.05 < keep[(scores > 0.8) & (scores < 0.9)].mean() < 0.95


def test_pareto_draws_follow_numpys_pareto() -> None:
    draws = pareto_draws([f"doc{i}" for i in range(20000)], alpha=9.0, seed=0)
    reference = np.random.default_rng(0).pareto(9.0, 20000)
    for quantile in (0.1, 0.5, 0.9, 0.99):
        assert np.quantile(draws, quantile) == pytest.approx(np.quantile(reference, quantile), rel=0.06)


def test_scores_come_from_the_hq_label(quality_model) -> None:
    model_path, _ = quality_model
    labels = load_model(model_path).get_labels()
    assert sorted(labels) == ["__label__hq", "__label__lq"]


def test_cli_trains_warns_on_a_small_split_and_names_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    positives = write_jsonl(tmp_path / "p.jsonl", clean_prose(seed=1, count=30))
    negatives = write_jsonl(tmp_path / "n.jsonl", spam_texts(seed=2, count=30))
    out = tmp_path / "model"
    assert (
        webtext(["quality", "train", "--positives", str(positives), "--negatives", str(negatives), "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "quality model trained" in printed and "held-out: precision" in printed
    assert "warning: only 6 held-out examples per class" in printed
    assert (out / "quality.bin").is_file() and (out / "quality.metrics.json").is_file()
    missing = ["quality", "train", "--positives", str(tmp_path / "nope.jsonl"), "--negatives", str(negatives)]
    assert webtext([*missing, "--out", str(out)]) == 2
    assert "nope.jsonl" in capsys.readouterr().err
