"""Filter tests share one small trained quality model (training takes a second or two).

This directory and the dedup tests' (for their Document helpers) go on ``sys.path``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for directory in (HERE, HERE.parent / "dedup"):
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))

from filter_fixtures import build_docs, clean_prose, spam_texts, write_jsonl  # noqa: E402

from pipeline.filter.quality_train import QualityMetrics, QualityTrainConfig, train_quality_model  # noqa: E402


@pytest.fixture(scope="session")
def quality_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, QualityMetrics]:
    """A classifier trained on clean prose (positives) vs keyword spam (negatives), and its metrics."""
    root = tmp_path_factory.mktemp("quality")
    positives = write_jsonl(root / "prose.jsonl", clean_prose(seed=1, count=160))
    negatives = write_jsonl(root / "spam.jsonl", spam_texts(seed=2, count=160))
    metrics = train_quality_model([positives], [negatives], root / "model", QualityTrainConfig(epoch=15))
    return Path(metrics.model), metrics


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """Two docs shards to filter (see ``build_docs``)."""
    return build_docs(tmp_path / "docs")
