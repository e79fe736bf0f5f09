"""Dedup into a folder that already holds one: new docs shards are decided against what it kept.

A completed run records in ``OUT/_settled.json`` the docs shards it decided (name and sha256) and
the settings and code (``pipeline/dedup``) the decision depended on. A later run with the same
settings treats those shards as settled: their outputs stay byte for byte, their kept documents
(with their stored signatures) join the reference exactly as ``--against``'s do, and only new or
changed docs shards are clustered. A new document that duplicates an earlier one is dropped; an
earlier document is never decided again, even when a new duplicate has more karma. Changing a
decision setting, ``--against`` or the stage's code decides the whole folder again. The record is
written last, so a run killed before it is redone the same way and the bytes do not depend on the
kill.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pipeline.code_identity import code_fingerprint
from pipeline.dedup.apply import PACKAGE
from pipeline.dedup.config import DedupConfig
from pipeline.shards import atomic_write_json, read_json, read_stats
from pipeline.stage import input_sha256

SETTLED_FILE = "_settled.json"


def settled_identity(cfg: DedupConfig, against: Path | None) -> dict[str, Any]:
    identity = {
        "signature": cfg.signature_identity(),
        "decision": cfg.decision_identity(),
        "against": against,
        "code": code_fingerprint(PACKAGE),
    }
    return json.loads(json.dumps(identity, sort_keys=True, default=str))


def settled_shards(out_dir: Path, inputs: list[Path], cfg: DedupConfig, against: Path | None) -> list[str]:
    """The docs shards of ``inputs`` an earlier completed run decided under the same settings, unchanged since."""
    record = read_json(out_dir / SETTLED_FILE) or {}
    if record.get("identity") != settled_identity(cfg, against):
        return []
    decided = record.get("shards", {})
    return [
        shard.name
        for shard in inputs
        if decided.get(shard.name) == input_sha256(shard) and read_stats(out_dir / shard.name) is not None
    ]


def record_settled(out_dir: Path, inputs: list[Path], cfg: DedupConfig, against: Path | None) -> None:
    shards = {shard.name: input_sha256(shard) for shard in inputs}
    atomic_write_json(out_dir / SETTLED_FILE, {"identity": settled_identity(cfg, against), "shards": shards})


def merge_partitions(increment: Path, duplicates_dir: Path) -> None:
    """Move the increment's ``shard=<name>`` partitions into the decision folder (replacing same-named ones)."""
    duplicates_dir.mkdir(parents=True, exist_ok=True)
    for partition in sorted(increment.glob("shard=*")):
        target = duplicates_dir / partition.name
        shutil.rmtree(target, ignore_errors=True)
        partition.rename(target)
    shutil.rmtree(increment, ignore_errors=True)
