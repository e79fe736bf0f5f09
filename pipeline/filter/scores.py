"""Model scores per docs shard, stored so a change of threshold never reruns a model.

``scores/part-....parquet`` holds, for each document of the docs shard of the same name,
its fastText language, language probability and quality score. It is recomputed only when
the docs shard or a model file changes; the keep/drop decision reads it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.filter.config import FilterConfig
from pipeline.filter.fasttext_models import one_line
from pipeline.filter.language import identify_languages, lid_identity
from pipeline.filter.quality import quality_identity, quality_scores
from pipeline.shards import ShardReadError, fingerprint, is_complete, read_table, write_shard
from pipeline.stage import input_sha256

SCORES_DIR = "scores"
SCORES_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("language", pa.string(), nullable=False),
        pa.field("language_score", pa.float32(), nullable=False),
        pa.field("quality_score", pa.float32()),
    ]
)


def scorer_identity(cfg: FilterConfig) -> dict[str, Any]:
    """The model files the scores come from (by content)."""
    return {**lid_identity(cfg.language), "quality": quality_identity(cfg.quality)}


def score_texts(ids: list[str], texts: list[str], cfg: FilterConfig) -> pa.Table:
    """Scores of one batch of documents."""
    lines = [one_line(text) for text in texts]  # quality_line(line) == quality_line(text): flatten once
    languages, language_scores = identify_languages(lines, cfg.language)
    quality = quality_scores(lines, cfg.quality)
    quality_column = pa.nulls(len(ids), pa.float32()) if quality is None else pa.array(quality, pa.float32())
    columns = [pa.array(ids), pa.array(languages), pa.array(language_scores, pa.float32()), quality_column]
    return pa.Table.from_arrays(columns, schema=SCORES_SCHEMA)


def score_table(documents: pa.Table, cfg: FilterConfig) -> pa.Table:
    """Scores of every document of ``documents``, ``cfg.batch_size`` at a time."""
    batches = [
        score_texts(batch["id"].to_pylist(), batch["text"].to_pylist(), cfg)
        for batch in documents.select(["id", "text"]).to_batches(max_chunksize=cfg.batch_size)
    ]
    return pa.concat_tables(batches) if batches else SCORES_SCHEMA.empty_table()


def shard_scores(
    docs_shard: Path, documents: pa.Table, out_dir: Path, cfg: FilterConfig, identity: dict[str, Any]
) -> tuple[pa.Table, bool]:
    """The stored scores of ``docs_shard`` when still valid, else freshly computed and stored; (scores, reused)."""
    path = out_dir / SCORES_DIR / docs_shard.name
    scores_fingerprint = fingerprint("filter-scores", input_sha256(docs_shard), identity)
    if is_complete(path, scores_fingerprint):
        try:
            scores = read_table(path, schema=SCORES_SCHEMA)
        except ShardReadError:
            scores = None  # the stage's own cache: a damaged one is recomputed, not reported
        if scores is not None and scores["id"].equals(documents["id"]):
            return scores, True
    scores = score_table(documents, cfg)
    write_shard(scores, path, shard_fingerprint=scores_fingerprint)
    return scores, False
