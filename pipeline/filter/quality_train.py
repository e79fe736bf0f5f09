"""Training the quality classifier from data the pipeline built: karma-ranked documents or a reference corpus.

Positives are documents whose links earned at least ``positive_min_karma`` (or every text of
a reference corpus such as Wikipedia or books, as GPT-3 did); negatives are documents from
links below ``negative_max_karma`` (or a random crawl). The examples are deduplicated
(a text in both classes is dropped from both), balanced by seeded down-sampling of the
larger class, and split train/validation with the same seed. Training runs on one thread
so the model is the same bytes on every run. The model, its data and its metrics are
written under one directory; a rerun with the same data and parameters does nothing.

Layout::

    quality.bin            the fastText model (``quality.ftz`` when quantized)
    quality.metrics.json   precision/recall/F1 on the validation split, counts, parameters, fingerprint
    train.txt, valid.txt   the examples in fastText's format
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.filter.config import MIN_EXAMPLES_PER_CLASS, QualityTrainConfig
from pipeline.filter.fasttext_models import LABEL_PREFIX, fasttext_module, load_model
from pipeline.filter.quality import NEGATIVE, POSITIVE, quality_line, score_lines
from pipeline.shards import atomic_write_json, commit, complete_shards, file_sha256, fingerprint, read_json, read_table

METRICS_FILE = "quality.metrics.json"
ROUGH_METRICS_BELOW = 50  # held-out examples per class under which precision/recall are mostly noise


@dataclasses.dataclass(frozen=True, slots=True)
class QualityMetrics:
    """Held-out scores of the positive (``hq``) class, and how the model was made."""

    model: str
    precision: float
    recall: float
    f1: float
    accuracy: float
    train_examples: dict[str, int]
    valid_examples: dict[str, int]
    dropped: dict[str, int]
    sources: dict[str, list[str]]
    config: dict[str, Any]
    fingerprint: str
    reused: bool = False

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in dataclasses.asdict(self).items() if key != "reused"}

    def caveat(self) -> str | None:
        """A warning when the held-out split is too small for its scores to mean much."""
        held_out = min(self.valid_examples.values(), default=0)
        if held_out >= ROUGH_METRICS_BELOW:
            return None
        return (
            f"only {held_out} held-out examples per class: these scores are rough; "
            f"give it more documents (at least {ROUGH_METRICS_BELOW} per class held out) before relying on them"
        )


def read_source(source: Path) -> Iterator[tuple[str, int | None]]:
    """(text, karma) from a directory of Document shards, or (text, None) from a JSONL file with a ``text`` field."""
    if source.is_dir():
        shards = complete_shards(source)
        if not shards:
            raise FileNotFoundError(f"{source}: no completed Document shards (a stage output directory was expected)")
        for shard in shards:
            table = read_table(shard, columns=["text", "karma"])
            yield from zip(table["text"].to_pylist(), table["karma"].to_pylist(), strict=True)
    elif source.is_file() and source.name.endswith(".jsonl"):
        with open(source, encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    text = json.loads(line)["text"]
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    raise ValueError(f"{source}:{number}: not a JSON object with a 'text' field ({error})") from error
                if not isinstance(text, str):
                    raise ValueError(f"{source}:{number}: 'text' is not a string")
                yield text, None
    else:
        raise FileNotFoundError(f"{source}: neither a directory of Document shards nor a .jsonl file")


def _collect(sources: list[Path], keep_karma: Any, cfg: QualityTrainConfig, dropped: dict[str, int]) -> dict[str, str]:
    """Prepared lines by text hash: karma-selected, long enough, each text once."""
    lines: dict[str, str] = {}
    for source in sources:
        for text, karma in read_source(source):
            if karma is not None and not keep_karma(karma):
                dropped["karma_between_classes"] += 1
            elif len(text) < cfg.min_chars:
                dropped["too_short"] += 1
            else:
                line = quality_line(text)
                key = hashlib.sha256(" ".join(line.split()).encode()).hexdigest()
                dropped["duplicate"] += key in lines
                lines[key] = line
    return lines


def build_examples(
    positives: list[Path], negatives: list[Path], cfg: QualityTrainConfig
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, int]]:
    """(train, valid) lists of (label, line), balanced and split with the seed; and what was dropped, by reason."""
    dropped = {"karma_between_classes": 0, "too_short": 0, "duplicate": 0, "in_both_classes": 0, "balance": 0}
    good = _collect(positives, lambda karma: karma >= cfg.positive_min_karma, cfg, dropped)
    bad = _collect(negatives, lambda karma: karma < cfg.negative_max_karma, cfg, dropped)
    for key in sorted(good.keys() & bad.keys()):  # a text in both classes teaches nothing: drop it from both
        del good[key], bad[key]
        dropped["in_both_classes"] += 2
    rng = random.Random(cfg.seed)
    size = min(len(good), len(bad), cfg.max_per_class or len(good) + len(bad))
    if size < MIN_EXAMPLES_PER_CLASS:
        raise ValueError(
            f"too few examples to train: {len(good)} positive and {len(bad)} negative texts left "
            f"(need {MIN_EXAMPLES_PER_CLASS} of each); check the sources and karma bounds"
        )
    classes = []
    for label, lines in ((POSITIVE, good), (NEGATIVE, bad)):
        keys = sorted(lines)
        rng.shuffle(keys)
        dropped["balance"] += len(keys) - size
        classes.append([(label, lines[key]) for key in keys[:size]])
    valid_size = max(1, round(size * cfg.valid_fraction))
    train = [example for examples in classes for example in examples[valid_size:]]
    valid = [example for examples in classes for example in examples[:valid_size]]
    rng.shuffle(train)
    return train, valid, dropped


def _write_examples(path: Path, examples: list[tuple[str, str]]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        for label, line in examples:
            out.write(f"{LABEL_PREFIX}{label} {line}\n")
    commit(temporary, path)


def evaluate(model: Any, examples: list[tuple[str, str]]) -> dict[str, float]:
    """Precision, recall and F1 of the ``hq`` class (and accuracy) on labelled examples, at score 0.5."""
    scores = score_lines(model, [line for _, line in examples])
    truth = [label == POSITIVE for label, _ in examples]
    predicted = [bool(score >= 0.5) for score in scores]
    true_positive = sum(t and p for t, p in zip(truth, predicted, strict=True))
    precision = true_positive / max(sum(predicted), 1)
    recall = true_positive / max(sum(truth), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / max(len(examples), 1)
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy}


def _counts(examples: list[tuple[str, str]]) -> dict[str, int]:
    return {label: sum(example[0] == label for example in examples) for label in (POSITIVE, NEGATIVE)}


def _fit(train_file: Path, model_file: Path, cfg: QualityTrainConfig) -> None:
    fasttext = fasttext_module()
    model = fasttext.train_supervised(
        input=str(train_file),
        epoch=cfg.epoch,
        lr=cfg.lr,
        wordNgrams=cfg.word_ngrams,
        dim=cfg.dim,
        minCount=cfg.min_count,
        bucket=cfg.buckets,
        loss="softmax",
        thread=1,  # one thread: the same data and seed give the same model
        seed=cfg.seed,
        verbose=0,
    )
    if cfg.quantize:
        model.quantize(input=str(train_file), retrain=False, qnorm=True)
    temporary = model_file.with_name(f".{model_file.name}.tmp")
    model.save_model(str(temporary))
    commit(temporary, model_file)


def train_quality_model(
    positives: list[Path], negatives: list[Path], out_dir: Path, cfg: QualityTrainConfig
) -> QualityMetrics:
    """Build the examples, train, evaluate on the held-out split and write everything under ``out_dir``."""
    train, valid, dropped = build_examples(positives, negatives, cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_examples(out_dir / "train.txt", train)
    _write_examples(out_dir / "valid.txt", valid)
    model_file = out_dir / ("quality.ftz" if cfg.quantize else "quality.bin")
    data = [file_sha256(out_dir / name) for name in ("train.txt", "valid.txt")]
    run_fingerprint = fingerprint("quality", data, dataclasses.asdict(cfg))
    previous = read_json(out_dir / METRICS_FILE) or {}
    if previous.get("fingerprint") == run_fingerprint and model_file.is_file():
        return QualityMetrics(**previous, reused=True)
    (out_dir / METRICS_FILE).unlink(missing_ok=True)  # the model is about to change: no stale metrics beside it
    _fit(out_dir / "train.txt", model_file, cfg)
    metrics = QualityMetrics(
        model=str(model_file),
        **evaluate(load_model(model_file), valid),
        train_examples=_counts(train),
        valid_examples=_counts(valid),
        dropped=dropped,
        sources={"positives": [str(path) for path in positives], "negatives": [str(path) for path in negatives]},
        config=dataclasses.asdict(cfg),
        fingerprint=run_fingerprint,
    )
    atomic_write_json(out_dir / METRICS_FILE, metrics.as_json())
    return metrics
