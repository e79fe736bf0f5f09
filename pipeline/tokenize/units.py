"""One unit of the tokenize stage: one documents shard becomes its own group of token shards.

A documents shard ``part-00012.parquet`` gives ``train/part-00012-0000.bin`` (and ``-0001`` …
when it holds more than ``shard_tokens``), ``val/part-00012-0000.bin``, each with its ``.idx``, and
the group's record ``_units/part-00012.json`` (fingerprint, files with sha256, counts), written
last: the record marks the group complete. Redoing a group removes its record first, then its
files, so a crash at any point leaves either a complete group or one the next run redoes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.shards import atomic_write_json, read_json, read_table
from pipeline.tokenize.documents import SPLITS, TRAIN, VAL, held_out, shuffled_order
from pipeline.tokenize.encoders import load_encoder
from pipeline.tokenize.tokens_folder import TOKENIZER_DIR
from pipeline.tokenize.writer import BIN_SUFFIX, IDX_SUFFIX, SplitWriter

UNITS_DIR = "_units"
ENCODE_BATCH = 256  # documents encoded per call
EMPTY_TEXT = "empty_text"


@dataclasses.dataclass(frozen=True, slots=True)
class Context:
    """What every unit of a run shares (sent to each worker process once)."""

    out_dir: Path
    tokenizer_kind: str
    tokenizer_files: tuple[tuple[str, str], ...]  # (file name, sha256)
    eot_id: int
    dtype: str
    seed: int
    val_fraction: float
    shard_tokens: int


def group_record_path(out_dir: Path, input_name: str) -> Path:
    return out_dir / UNITS_DIR / f"{Path(input_name).stem}.json"


def completed_group(record_path: Path, expected_fingerprint: str) -> dict[str, Any] | None:
    """A group's record when a run with the same inputs, tokenizer and settings completed it and every file of it
    has the size recorded; else None (the group is redone)."""
    record = read_json(record_path)
    if not isinstance(record, dict) or record.get("fingerprint") != expected_fingerprint:
        return None
    out_dir = record_path.parent.parent
    for piece in record["pieces"]:
        index_size = 8 * (piece["documents"] + 1)
        if not (_has_size(out_dir / piece["path"], piece["bytes"]) and _has_size(out_dir / piece["index"], index_size)):
            return None
    return record


def _has_size(path: Path, size: int) -> bool:
    return path.is_file() and path.stat().st_size == size


def remove_group(out_dir: Path, input_name: str) -> None:
    """Delete a group's record (first) and every file of it."""
    group_record_path(out_dir, input_name).unlink(missing_ok=True)
    stem = Path(input_name).stem
    for split in SPLITS:
        for suffix in (BIN_SUFFIX, IDX_SUFFIX):
            for path in (out_dir / split).glob(f"{stem}-[0-9][0-9][0-9][0-9]{suffix}"):
                path.unlink()


def tokenize_shard(context: Context, docs_shard: Path, input_sha256: str, fingerprint: str) -> dict[str, Any]:
    """Encode one documents shard, its documents shuffled by seed and content, into its train and val token files;
    returns the group's record (``input_sha256``: the file's, which keys the unit, not the order)."""
    encoder = load_encoder(context.tokenizer_kind, context.out_dir / TOKENIZER_DIR, context.tokenizer_files)
    remove_group(context.out_dir, docs_shard.name)
    table = read_table(docs_shard, columns=["id", "text"])
    ids, texts = table.column("id").to_pylist(), table.column("text").to_pylist()
    del table
    order = shuffled_order(ids, texts, context.seed)
    validation = held_out(ids, context.seed, context.val_fraction)
    outcomes: Counter[str] = Counter()
    pieces: list[dict[str, Any]] = []
    splits: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        chosen = [int(i) for i in order if validation[i] == (split == VAL) and texts[i]]
        outcomes[split] += len(chosen)
        writer = SplitWriter(
            context.out_dir / split, docs_shard.stem, np.dtype(context.dtype), context.eot_id, context.shard_tokens
        )
        try:
            for start in range(0, len(chosen), ENCODE_BATCH):
                for encoded in encoder.encode([texts[i] for i in chosen[start : start + ENCODE_BATCH]]):
                    writer.add(encoded)
            written = [piece | {"input": docs_shard.name} for piece in writer.close()]
        finally:
            writer.abort()
        pieces += written
        splits[split] = {"documents": len(chosen), "tokens": sum(piece["tokens"] for piece in written)}
    if empty := sum(1 for text in texts if not text):
        outcomes[EMPTY_TEXT] = empty
    record = {
        "input": docs_shard.name,
        "input_sha256": input_sha256,
        "fingerprint": fingerprint,
        "documents": splits[TRAIN]["documents"] + splits[VAL]["documents"],
        "tokens": splits[TRAIN]["tokens"] + splits[VAL]["tokens"],
        "splits": splits,
        "outcomes": dict(outcomes),
        "pieces": pieces,
    }
    atomic_write_json(group_record_path(context.out_dir, docs_shard.name), record)
    return record
