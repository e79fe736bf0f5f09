"""Wikipedia's n-grams matched by a Spark join, for references too large for one process's memory.

Spark reads the docs shards; Python workers (``mapInArrow``) turn each document into its
distinct n-gram hashes (documents dropped as Wikipedia pages excluded, as in the local count),
and the rows (shard, position, hash) are semi-joined on ``hash`` with the reference chunks
(``references.wikipedia_ngrams``). The matches are shuffled by shard and written one file per
docs shard (``pipeline.spark.shard_files``: the driver collects one row per shard) under
``OUT/_counts/wikipedia/``, keyed like every unit by the docs shard's sha256, the reference's
fingerprint, the settings that choose the rows and the stage's code, so a rerun joins only new or
changed shards.
The boilerplate cut-off then counts, per matched hash, the documents of every shard's file
holding it; only the hashes above the cut-off reach the driver, and they are kept beside the
files under the key of all of them, so an unchanged rerun starts no Spark session at all.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline.code_identity import code_fingerprint
from pipeline.decontaminate.config import DecontaminateConfig
from pipeline.decontaminate.ngrams import distinct, words_of
from pipeline.decontaminate.references import COUNTS_DIR, WIKIPEDIA, WikipediaNgrams
from pipeline.decontaminate.wikipedia import is_wikipedia_page
from pipeline.shards import atomic_write_bytes, fingerprint, remove_orphan_shards
from pipeline.spark.adopt import WrittenShard, adopt_or_write_empty
from pipeline.spark.session import SharedSession, spark_session
from pipeline.spark.shard_files import WRITTEN_SCHEMA, write_shard_files
from pipeline.spark.sizing import uncompressed_bytes
from pipeline.stage import WorkUnit, input_sha256, plan_units

MATCHES_SCHEMA = pa.schema([("position", pa.int64()), ("hash", pa.int64())])  # hash: the uint64 bit-cast
NGRAM_ROWS = "shard string, position long, hash long"
ROW_GROUP_ROWS = 131_072
SCRATCH = Path("_scratch") / "wikipedia-join"


@dataclasses.dataclass(frozen=True, slots=True)
class JoinedWikipedia:
    """What the stage needs of the join: the common (boilerplate) hashes, and each docs shard's matches file."""

    frequent: np.ndarray  # sorted uint64
    matches: dict[str, Path]  # docs shard name -> its MATCHES_SCHEMA file
    shards_joined: int  # docs shards joined in this run (0: everything was reused)


def _document_ngrams(
    batches: Iterator[pa.RecordBatch], n: int, skip_wikipedia: bool, mirrors: tuple[str, ...]
) -> Iterator[pa.RecordBatch]:
    """Runs in the Python workers: documents in, one (shard, position, hash) row per distinct n-gram out."""
    columns = ("shard", "position", "url", "final_url", "text")
    for batch in batches:
        documents, counts, hashes = [], [], [np.empty(0, np.int64)]
        for index, (_, _, url, final_url, text) in enumerate(zip(*(batch.column(c).to_pylist() for c in columns))):
            if skip_wikipedia and is_wikipedia_page(url, final_url, mirrors):
                continue  # dropped whole by the stage: neither matched nor counted
            ngrams = distinct(words_of(text).ngrams(n))
            documents.append(index)
            counts.append(len(ngrams))
            hashes.append(ngrams.view(np.int64))
        rows = pa.array(np.repeat(np.array(documents, dtype=np.int64), np.array(counts, dtype=np.int64)))
        yield pa.RecordBatch.from_pydict(
            {
                "shard": batch.column("shard").take(rows),
                "position": batch.column("position").take(rows),
                "hash": pa.array(np.concatenate(hashes)),
            }
        )


def _matches(
    spark: SparkSession, shards: list[Path], reference: WikipediaNgrams, cfg: DecontaminateConfig
) -> DataFrame:
    """(shard, position, hash) for every distinct n-gram of a document that is also one of Wikipedia's."""
    documents = spark.read.parquet(*[str(shard) for shard in shards]).select(
        F.col("_metadata.file_name").alias("shard"),
        F.col("_metadata.row_index").alias("position"),
        "url",
        "final_url",
        "text",
    )
    hasher = functools.partial(
        _document_ngrams, n=cfg.n, skip_wikipedia=cfg.drop_wikipedia, mirrors=cfg.wikipedia_mirrors
    )
    ngrams = documents.mapInArrow(hasher, NGRAM_ROWS)
    wikipedia = spark.read.parquet(*[str(chunk) for chunk in reference.chunks]).select("hash")
    return ngrams.join(wikipedia, "hash", "left_semi")  # semi: a hash repeated across chunks matches once


def _write_matches(
    spark: SparkSession, shards: list[Path], reference: WikipediaNgrams, cfg: DecontaminateConfig, scratch: Path
) -> dict[str, WrittenShard]:
    """One matches file per docs shard with any match, written by the executors under ``scratch``."""
    by_shard = (
        _matches(spark, shards, reference, cfg).repartition("shard").sortWithinPartitions("shard", "position", "hash")
    )
    writer = functools.partial(
        write_shard_files, directory=str(scratch), schema=MATCHES_SCHEMA, row_group_rows=ROW_GROUP_ROWS
    )
    rows = by_shard.select("shard", "position", "hash").mapInArrow(writer, WRITTEN_SCHEMA).collect()
    return {row["shard"]: WrittenShard(Path(row["path"]), row["rows"], row["bytes"], row["sha256"]) for row in rows}


def _frequent(spark: SparkSession, files: list[Path], max_documents: int) -> np.ndarray:
    """The hashes held by more than ``max_documents`` documents of the corpus: each file row is one (document, hash)."""
    counts = spark.read.parquet(*[str(path) for path in files]).groupBy("hash").count()
    common = counts.where(F.col("count") > max_documents).select("hash").collect()  # boilerplate only: small
    return np.sort(np.array([row["hash"] for row in common], dtype=np.int64).view(np.uint64))


def _frequent_file(directory: Path, units: list[WorkUnit[Path]], max_documents: int) -> Path:
    return directory / f"frequent-{fingerprint([unit.fingerprint for unit in units], max_documents)}.npy"


def join_wikipedia(
    inputs: list[Path],
    out_dir: Path,
    reference: WikipediaNgrams,
    cfg: DecontaminateConfig,
    spark: SparkSession | SharedSession | None = None,
) -> JoinedWikipedia:
    """Match every docs shard against Wikipedia in Spark (only shards not joined before) and find the common
    hashes; ``spark``: an existing session to use (a test's, or a flow run's shared one), else one from
    ``cfg.spark`` for this call, sized to the texts and reference chunks it joins under ``driver_memory: auto``."""
    if not inputs:
        return JoinedWikipedia(np.empty(0, dtype=np.uint64), {}, 0)
    directory = out_dir / COUNTS_DIR / WIKIPEDIA
    skipping = (cfg.drop_wikipedia, cfg.wikipedia_mirrors) if cfg.drop_wikipedia else False
    code = code_fingerprint("pipeline.decontaminate")  # the n-grams come from the stage's code
    key = fingerprint("decontaminate", "wikipedia-join", reference.identity, cfg.n, skipping, code)
    units = [WorkUnit(directory / shard.name, fingerprint(key, input_sha256(shard)), shard) for shard in inputs]
    directory.mkdir(parents=True, exist_ok=True)
    remove_orphan_shards(directory, {unit.name for unit in units})
    plan = plan_units(units)
    frequent_file = _frequent_file(directory, units, cfg.wikipedia_max_ngram_documents)
    matches = {unit.source.name: unit.output for unit in units}
    if not plan.todo and frequent_file.is_file():
        return JoinedWikipedia(np.load(frequent_file), matches, 0)
    texts = uncompressed_bytes([unit.source for unit in plan.todo], "text")
    with spark_session(cfg.spark, spark, texts + uncompressed_bytes(reference.chunks)) as session:
        if plan.todo:
            scratch = out_dir / SCRATCH
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            written = _write_matches(session, [unit.source for unit in plan.todo], reference, cfg, scratch)
            for unit in plan.todo:
                adopt_or_write_empty(
                    written.get(unit.source.name),
                    unit.output,
                    MATCHES_SCHEMA,
                    shard_fingerprint=unit.fingerprint,
                    extra_stats={},
                )
            shutil.rmtree(scratch, ignore_errors=True)
        frequent = _frequent(session, [unit.output for unit in units], cfg.wikipedia_max_ngram_documents)
    for stale in directory.glob("frequent-*.npy"):
        stale.unlink()
    buffer = io.BytesIO()
    np.save(buffer, frequent)
    atomic_write_bytes(frequent_file, buffer.getvalue())
    return JoinedWikipedia(frequent, matches, len(plan.todo))
