"""The tokenize stage: documents in, nanoGPT-style token shards, their index and a manifest out.

Layout under the output directory::

    tokenizer/                    the folder's tokenizer: encoder.json + vocab.bpe (gpt2) or tokenizer.json
                                  (bpe), and identity.json (kind, vocab size, end-of-text id, sha256 of each file)
    train/part-00012-0000.bin     flat little-endian uint16 ids (uint32 for vocabularies over 65,536)
    train/part-00012-0000.idx     little-endian uint64: each document's start offset, then the total
    val/part-00012-0000.bin/.idx  the validation split (documents held out whole)
    _units/part-00012.json        one documents shard's group: fingerprint, files, counts (its completion mark)
    manifest.json                 dtype, tokenizer identity, input shard hashes, config, every shard with its
                                  token and document counts and sha256, totals per split
    summary.json

Each documents shard is a unit, keyed by its content hash, the tokenizer's files, the split and
shard settings and the stage's code (``pipeline/tokenize``), and gives its own group of files: new
documents shards add groups, earlier groups are never rewritten, and the manifest (written
atomically after the units) lists them all. A flow maps ``open_tokenize``'s jobs over its task
runner; the tokenizer is chosen (or trained) first, in the run that holds the folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.code_identity import code_fingerprint
from pipeline.lock import folder_lock
from pipeline.progress import ProgressFactory, no_progress
from pipeline.rejects import OrphanShardsError
from pipeline.settings import resolve_workers
from pipeline.shards import (
    atomic_write_json,
    docs_shards,
    fingerprint,
    read_stats,
    remove_stale_temporaries,
)
from pipeline.stage import ShardedRun, StageSummary, Stopwatch, WorkUnit, input_sha256, plan_units
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.documents import SPLITS, training_texts
from pipeline.tokenize.folder import (
    changed_file,
    check_folder_tokenizer,
    conflict,
    new_tokenizer,
    saved_identity,
    sweep_temporaries,
    wanted_kind,
)
from pipeline.tokenize.tokens_folder import FORMAT, MANIFEST, TOKENIZER_DIR, TOKENIZER_IDENTITY, corpus_sha256
from pipeline.tokenize.units import UNITS_DIR, Context, completed_group, group_record_path, remove_group, tokenize_shard
from pipeline.tokenize.writer import BIN_SUFFIX, IDX_SUFFIX, token_dtype

STAGE = "tokenize"
PACKAGE = "pipeline.tokenize"  # the code the outputs depend on (see ``code_fingerprint``)


def _documents(inputs: list[Path], docs_dir: Path) -> None:
    """An empty corpus is an error before anything is written."""
    if not any((read_stats(shard) or {}).get("rows", 0) for shard in inputs):
        raise ValueError(f"{docs_dir} holds no documents to tokenize: run the stages before tokenize first")


def _groups_on_disk(out_dir: Path) -> set[str]:
    """Input names of the groups recorded in ``out_dir`` (complete or not)."""
    return {f"{record.stem}.parquet" for record in (out_dir / UNITS_DIR).glob("*.json")}


def _check_orphans(out_dir: Path, input_names: set[str], replace: bool) -> None:
    """Groups of documents shards that are gone: an error naming them, or (``replace``) deleted."""
    orphans = sorted(_groups_on_disk(out_dir) - input_names)
    if orphans and not replace:
        shown = ", ".join(orphans[:3]) + (f" and {len(orphans) - 3} more" if len(orphans) > 3 else "")
        raise OrphanShardsError(
            f"{out_dir} holds token shards of {len(orphans)} documents shard(s) that are gone ({shown}): is --out the "
            "right folder? Use a new --out, or rerun with --replace to delete them"
        )
    for name in orphans:
        remove_group(out_dir, name)


def _start_over(out_dir: Path) -> None:
    """``--replace`` with another tokenizer: every group, the manifest and the tokenizer go."""
    (out_dir / MANIFEST).unlink(missing_ok=True)
    for name in sorted(_groups_on_disk(out_dir)):
        remove_group(out_dir, name)
    (out_dir / TOKENIZER_DIR / TOKENIZER_IDENTITY).unlink(missing_ok=True)


def _tokenizer(out_dir: Path, cfg: TokenizeConfig, inputs: list[Path], replace: bool) -> dict[str, Any]:
    """The folder's tokenizer identity: the saved one, or a new one (copied or trained) for a new folder."""
    saved = saved_identity(out_dir)
    kind = wanted_kind(cfg, saved)
    if saved is not None:
        reason = conflict(saved, kind, cfg)
        if reason is None and replace and changed_file(out_dir, saved) is not None:
            reason = "its tokenizer files are damaged"  # --replace makes them anew, as check_folder_tokenizer advises
        if reason is None:
            return saved
        if not replace:
            raise ValueError(
                f"{out_dir}: {reason}; a tokens folder has one tokenizer: use a new --out, or rerun with --replace "
                "to tokenize everything again"
            )
        _start_over(out_dir)

    def texts() -> Iterable[str]:
        return training_texts(inputs, cfg.seed, cfg.val_fraction, cfg.bpe_max_documents)

    return new_tokenizer(out_dir, kind, cfg, texts, [shard.name for shard in inputs])


def _sweep(out_dir: Path, manifest: dict[str, Any]) -> None:
    """Token files no complete group lists (a killed run's, for an input now gone), and temporaries."""
    pieces = [piece for split in SPLITS for piece in manifest["splits"][split]["shards"]]
    listed = {piece[key] for piece in pieces for key in ("path", "index")}
    for directory in (out_dir, out_dir / UNITS_DIR):  # a record's or the manifest's, killed before its rename
        remove_stale_temporaries(directory)
    for split in SPLITS:
        directory = out_dir / split
        if directory.is_dir():
            remove_stale_temporaries(directory)
            for path in [*directory.glob(f"*{BIN_SUFFIX}"), *directory.glob(f"*{IDX_SUFFIX}")]:
                if f"{split}/{path.name}" not in listed:
                    path.unlink()


def build_manifest(records: list[dict[str, Any]], identity: dict[str, Any], dtype: str, cfg: TokenizeConfig) -> dict:
    """The tokens folder's manifest: everything a reader needs, and what the tokens were made from."""
    splits = {}
    for split in SPLITS:
        pieces = [piece for record in records for piece in record["pieces"] if piece["path"].startswith(f"{split}/")]
        shards = sorted(pieces, key=lambda piece: piece["path"])
        splits[split] = {
            "tokens": sum(piece["tokens"] for piece in shards),
            "documents": sum(piece["documents"] for piece in shards),
            "shards": shards,
        }
    config = {key: value for key, value in dataclasses.asdict(cfg).items() if key not in ("workers", "gpt2_vocab_dir")}
    inputs = {record["input"]: record["input_sha256"] for record in sorted(records, key=lambda r: r["input"])}
    return {
        "format": FORMAT,
        "dtype": dtype,
        "tokenizer": identity,
        "config": config,
        "inputs": inputs,
        "corpus_sha256": corpus_sha256(inputs),  # the corpus version manifests (pipeline.lineage) are keyed by it
        "splits": splits,
        "tokens": sum(split["tokens"] for split in splits.values()),
        "documents": sum(split["documents"] for split in splits.values()),
    }


def _context(out_dir: Path, identity: dict[str, Any], dtype: str, cfg: TokenizeConfig) -> Context:
    """What every unit needs; each loads the tokenizer from ``out_dir/tokenizer`` itself (once per process)."""
    files = tuple(sorted(identity["files"].items()))
    return Context(
        out_dir.resolve(),
        identity["kind"],
        files,
        identity["eot_id"],
        dtype,
        cfg.seed,
        cfg.val_fraction,
        cfg.shard_tokens,
    )


def _finish(
    out_dir: Path,
    docs_dir: Path,
    done: list[dict[str, Any]],
    identity: dict[str, Any],
    dtype: str,
    cfg: TokenizeConfig,
    clock: Stopwatch,
    records: list[dict[str, Any]],
) -> StageSummary:
    """The manifest of every group (done before and now), the sweep of what no group lists, the summary."""
    manifest = build_manifest(done + records, identity, dtype, cfg)
    atomic_write_json(out_dir / MANIFEST, manifest)
    _sweep(out_dir, manifest)
    return _summarise(done + records, manifest, out_dir, docs_dir, len(done), clock, cfg)


@contextlib.contextmanager
def open_tokenize(
    docs_dir: Path, out_dir: Path, cfg: TokenizeConfig, replace: bool = False
) -> Iterator[ShardedRun[dict[str, Any]]]:
    """The tokenize run of ``docs_dir`` into ``out_dir``, its folder locked, its tokenizer chosen (or trained) and
    its shards planned: one job per documents shard to (re)do (see ``ShardedRun``)."""
    clock = Stopwatch()
    inputs = docs_shards(docs_dir, produced_by="decontaminate")
    _documents(inputs, docs_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(out_dir, STAGE):
        sweep_temporaries(out_dir)
        _check_orphans(out_dir, {shard.name for shard in inputs}, replace)
        identity = _tokenizer(out_dir, cfg, inputs, replace)
        check_folder_tokenizer(out_dir, identity)  # before any unit loads it
        dtype = token_dtype(identity["vocab_size"], cfg.dtype).name
        key = fingerprint(STAGE, identity["files"], dtype, cfg.split_identity(), code_fingerprint(PACKAGE))
        units = [
            WorkUnit(group_record_path(out_dir, shard.name), fingerprint(key, input_sha256(shard)), shard)
            for shard in inputs
        ]
        plan = plan_units(units, completed=completed_group)
        done = [stats for _, stats in plan.done]
        jobs = [(unit.source.resolve(), input_sha256(unit.source), unit.fingerprint) for unit in plan.todo]
        finish = functools.partial(_finish, out_dir, docs_dir, done, identity, dtype, cfg, clock)
        workers = resolve_workers(cfg.workers)
        yield ShardedRun(STAGE, tokenize_shard, jobs, _context(out_dir, identity, dtype, cfg), workers, finish)


def run_tokenize(
    docs_dir: Path,
    out_dir: Path,
    cfg: TokenizeConfig,
    progress: ProgressFactory = no_progress,
    replace: bool = False,
) -> StageSummary:
    """Tokenize every completed shard of ``docs_dir`` into ``out_dir``; a rerun does only new or changed shards."""
    with (
        open_tokenize(docs_dir, out_dir, cfg, replace) as run,
        progress("tokenize shards", len(run.jobs), unit="shard") as advance,
    ):
        return run.run_local(advance)


def _summarise(
    records: list[dict[str, Any]],
    manifest: dict[str, Any],
    out_dir: Path,
    docs_dir: Path,
    skipped: int,
    clock: Stopwatch,
    cfg: TokenizeConfig,
) -> StageSummary:
    outcomes: Counter[str] = Counter()
    for record in records:
        outcomes.update(record["outcomes"])
    splits = manifest["splits"]
    return StageSummary(
        stage=STAGE,
        out_dir=str(out_dir),
        outcomes=dict(outcomes),
        counts={
            "documents": manifest["documents"],
            "tokens": manifest["tokens"],
            "train_tokens": splits["train"]["tokens"],
            "val_tokens": splits["val"]["tokens"],
        },
        units=len(records),
        units_skipped=skipped,
        seconds=clock.seconds(),
        details={
            "docs_dir": str(docs_dir),
            "tokenizer": manifest["tokenizer"]["kind"],
            "vocab_size": manifest["tokenizer"]["vocab_size"],
            "dtype": manifest["dtype"],
            "token_shards": sum(len(split["shards"]) for split in splits.values()),
            "manifest": str(out_dir / MANIFEST),
            "code_fingerprint": code_fingerprint(PACKAGE),
        },
        config=json.loads(json.dumps(dataclasses.asdict(cfg), default=str)),  # a Path as text
    ).write()
