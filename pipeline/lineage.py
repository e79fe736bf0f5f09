"""Corpus versions: what each state of the corpus was made from, so any model traces back to data and code.

After the data stages of a run, ``record_version`` writes ``DATA_ROOT/versions/v0003.json`` when the
tokens differ from the latest version's (a run with nothing new records nothing). The manifest holds:
the input dumps, API snapshots and blocklists with their sha256, the run's config, the code version (git commit,
and each stage's code fingerprint), every stage's counts, the corpus shards' and token shards' sha256,
and two identities:

- ``corpus_sha256``: of the corpus shards the tokens were made from (the tokens manifest's ``inputs``);
- ``tokens_sha256``: of the tokens folder's ``manifest.json``.

A version also says how many of its documents' karma changed since the previous version (``karma``): a
URL posted again after it was fetched gains karma, which the nightly carries into its Document without
fetching the page again. Each version keeps ``vNNNN.karma.npz`` (document key and karma, 16 bytes per
document) until the next version has been compared with it.

The tokens manifest carries ``corpus_sha256`` too, and every MLflow training and evaluation run records
both hashes (``lineage_tags``), so a run finds its version manifest by them (``find_version``).
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.layout import VERSIONS_DIR
from pipeline.shards import atomic_write_bytes, atomic_write_json, file_sha256, read_json, read_table
from pipeline.stage import read_summary
from pipeline.tokenize.tokens_folder import corpus_sha256, has_manifest, manifest_path, read_manifest

FORMAT = "webtext-corpus-version/1"
INPUT_HASHES = "_input_hashes.json"
REPOSITORY = Path(__file__).resolve().parents[1]
# MLflow tags every training and evaluation run gets (and ``webtext lineage`` reads back)
LINEAGE_PREFIX = "webtext."
CORPUS_TAG = "webtext.corpus_sha256"
TOKENS_TAG = "webtext.tokens_sha256"
VERSION_TAG = "webtext.corpus_version"
MANIFEST_TAG = "webtext.corpus_manifest"
CODE_TAG = "webtext.code_version"
FLOW_RUN_TAG = "webtext.prefect_flow_run_id"
OVERLAP_REPORT = "overlap"  # a version's link to decontaminate's overlap table of its corpus (``reports``)
KARMA_SUFFIX = ".karma.npz"


def version_name(number: int) -> str:
    return f"v{number:04d}"


def code_version(root: Path = REPOSITORY) -> dict[str, Any]:
    """The package version, and the git commit (with ``dirty`` when files differ from it) of a checkout."""
    try:
        package = metadata.version("webtext")
    except metadata.PackageNotFoundError:
        package = None
    version: dict[str, Any] = {"package": package, "git_commit": None, "dirty": None}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return version  # no git here: the package version is all there is
    if commit.returncode == 0:
        version |= {"git_commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    return version


def describe_code(version: Mapping[str, Any]) -> str:
    """``3f2a9c1d2e4b`` (``+dirty``), or ``package 0.1.0`` outside a checkout."""
    if version.get("git_commit"):
        return version["git_commit"][:12] + ("+dirty" if version.get("dirty") else "")
    return f"package {version.get('package')}"


def hash_inputs(paths: Iterable[Path], cache_file: Path) -> list[dict[str, Any]]:
    """Each input file's size, mtime and sha256; a file unchanged since the last call (same size and mtime) is
    not read again (monthly dumps are tens of GB)."""
    cache = read_json(cache_file) or {}
    entries = []
    for path in paths:
        stat = path.stat()
        key = str(path.resolve())
        known = cache.get(key) or {}
        if known.get("bytes") != stat.st_size or known.get("mtime_ns") != stat.st_mtime_ns:
            known = {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": file_sha256(path)}
            cache[key] = known
        entries.append({"path": str(path), **known})
    atomic_write_json(cache_file, cache)
    return entries


def stage_record(folder: Path) -> dict[str, Any] | None:
    """A stage's counts as its ``summary.json`` holds them (``None`` when the stage never ran there)."""
    summary = read_summary(folder)
    if summary is None:
        return None
    code = summary.details.get("code_fingerprint")
    return {"folder": str(folder), "counts": summary.counts, "outcomes": summary.outcomes, "code_fingerprint": code}


def versions(data_root: Path) -> list[dict[str, Any]]:
    """Every version manifest under ``data_root``, oldest first."""
    directory = data_root / VERSIONS_DIR
    found = [read_json(path) for path in sorted(directory.glob("v[0-9]*.json"))] if directory.is_dir() else []
    return [manifest for manifest in found if manifest and manifest.get("format") == FORMAT]


def latest_version(data_root: Path) -> dict[str, Any] | None:
    found = versions(data_root)
    return found[-1] if found else None


def find_version(data_root: Path, tokens_sha256: str) -> dict[str, Any] | None:
    """The version whose tokens manifest had ``tokens_sha256``."""
    return next((m for m in reversed(versions(data_root)) if m["tokens"]["manifest_sha256"] == tokens_sha256), None)


def corpus_karma(corpus_dir: Path, shard_names: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """The corpus documents' keys (the first 64 bits of their id), sorted, and their karma in the same order."""
    keys: list[np.ndarray] = []
    karma: list[np.ndarray] = []
    for name in sorted(shard_names):
        table = read_table(corpus_dir / name, columns=["id", "karma"])
        keys.append(np.array([int(value[:16], 16) for value in table["id"].to_pylist()], dtype=np.uint64))
        karma.append(table["karma"].to_numpy(zero_copy_only=False).astype(np.int64, copy=False))
    if not keys:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    order = np.argsort(np.concatenate(keys), kind="stable")
    return np.concatenate(keys)[order], np.concatenate(karma)[order]


def karma_changes(directory: Path, previous: str | None, keys: np.ndarray, karma: np.ndarray) -> dict[str, Any]:
    """How many documents carry another karma than in the ``previous`` version (``changed`` is None when that
    version kept no karma to compare with: the first version, or one recorded before versions kept it)."""
    found_previous = previous is not None and (directory / f"{previous}{KARMA_SUFFIX}").is_file()
    record: dict[str, Any] = {"documents": len(keys), "changed": None, "compared_with": None}
    if not found_previous:
        return record
    with np.load(directory / f"{previous}{KARMA_SUFFIX}") as earlier:
        old_keys, old_karma = earlier["keys"], earlier["karma"]
    positions = np.minimum(np.searchsorted(old_keys, keys), max(len(old_keys) - 1, 0))
    both = (old_keys[positions] == keys) if len(old_keys) else np.zeros(len(keys), dtype=bool)
    changed = int((old_karma[positions[both]] != karma[both]).sum())
    return record | {"changed": changed, "compared_with": previous}


def _keep_karma(directory: Path, name: str, keys: np.ndarray, karma: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, keys=keys, karma=karma)
    atomic_write_bytes(directory / f"{name}{KARMA_SUFFIX}", buffer.getvalue())


def record_version(
    data_root: Path,
    tokens_dir: Path,
    stage_folders: Mapping[str, Path],
    input_files: Iterable[Path],
    config: Mapping[str, Any],
    flow_run_id: str | None = None,
    reports: Mapping[str, Path] | None = None,
    corpus_dir: Path | None = None,
) -> tuple[dict[str, Any], bool]:
    """The version manifest of the corpus in ``tokens_dir``: a new one (``True``) when the tokens differ from the
    latest version's, else the latest (``False``). ``reports`` (name → file: decontaminate's overlap table) are
    linked from it when they exist, so a model's evaluation finds the report of the corpus it was trained on.
    ``corpus_dir`` (the documents the tokens were made from) lets it count the documents whose karma changed
    since the latest version; the count is written before the manifest, so a killed run's rerun counts the same."""
    if not has_manifest(tokens_dir):
        raise FileNotFoundError(f"no tokens manifest at {manifest_path(tokens_dir)}: run the tokenize stage first")
    tokens = read_manifest(tokens_dir)
    tokens_sha256 = tokens.sha256
    latest = latest_version(data_root)
    if latest is not None and latest["tokens"]["manifest_sha256"] == tokens_sha256:
        return latest, False
    directory = data_root / VERSIONS_DIR
    number = (latest["version"] if latest else 0) + 1
    shards = [entry for split in tokens.splits.values() for entry in split.shards]
    stages = {stage: stage_record(folder) for stage, folder in stage_folders.items()}
    karma: dict[str, Any] | None = None
    if corpus_dir is not None:
        keys, values = corpus_karma(corpus_dir, tokens.inputs)
        karma = karma_changes(directory, latest["name"] if latest else None, keys, values)
        _keep_karma(directory, version_name(number), keys, values)
    manifest = {
        "format": FORMAT,
        "version": number,
        "name": version_name(number),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "previous": latest["version"] if latest else None,
        "prefect_flow_run_id": flow_run_id,
        "corpus_sha256": corpus_sha256(tokens.inputs),
        "code": {
            **code_version(),
            "stages": {stage: (record or {}).get("code_fingerprint") for stage, record in stages.items()},
        },
        "inputs": hash_inputs(input_files, directory / INPUT_HASHES),
        "config": dict(config),
        "counts": stages,
        "reports": {name: str(path) for name, path in (reports or {}).items() if path.is_file()},
        "karma": karma,
        "corpus": {"shards": dict(tokens.inputs)},
        "tokens": {
            "dir": str(tokens_dir),
            "manifest_sha256": tokens_sha256,
            "tokenizer": dict(tokens.tokenizer),
            "tokens": tokens.tokens,
            "documents": tokens.documents,
            "splits": {name: split.tokens for name, split in tokens.splits.items()},
            "shards": {entry.path: entry.sha256 for entry in shards},
        },
    }
    atomic_write_json(directory / f"{version_name(number)}.json", manifest)
    for compared in directory.glob(f"v[0-9]*{KARMA_SUFFIX}"):  # the next version compares with this one's only
        if compared.name != f"{version_name(number)}{KARMA_SUFFIX}":
            compared.unlink()
    return manifest, True


def version_path(data_root: Path, manifest: Mapping[str, Any]) -> Path:
    return data_root / VERSIONS_DIR / f"{manifest['name']}.json"


def lineage_tags(tokens_dir: Path) -> dict[str, str]:
    """The MLflow tags that tie a run to the tokens it read: both hashes, and the corpus version when the tokens
    folder sits in a data root that recorded one (``DATA_ROOT/tokens`` beside ``DATA_ROOT/versions``)."""
    tokens = read_manifest(tokens_dir)
    tags = {
        TOKENS_TAG: tokens.sha256,
        CODE_TAG: describe_code(code_version()),
        CORPUS_TAG: corpus_sha256(tokens.inputs),
    }
    data_root = tokens_dir.resolve().parent
    version = find_version(data_root, tags[TOKENS_TAG])
    if version is not None:
        tags |= {VERSION_TAG: version["name"], MANIFEST_TAG: str(version_path(data_root, version))}
    return tags


def grown_enough(current_tokens: int, trained_tokens: int | None, min_new_tokens: int) -> bool:
    """Whether a corpus of ``current_tokens`` deserves a new training run after one on ``trained_tokens``."""
    return trained_tokens is None or current_tokens - trained_tokens >= max(min_new_tokens, 1)


@dataclasses.dataclass(frozen=True, slots=True)
class TrainingCase:
    """What decides whether a model size trains on a corpus version: the facts, gathered by the flow."""

    target: str  # the size's folder for this version
    started: bool  # that folder already has a run (a summary, checkpoints or an MLflow run record)
    asked: bool | None  # the flow's ``train`` parameter: force, skip, or decide (None)
    train_tokens: int  # the version's train tokens
    previous: str | None  # the size's newest model trained to the end, if any
    previous_train_tokens: int | None  # what that model trained on (None: unknown, as for no model)
    min_new_tokens: int


def training_due(case: TrainingCase) -> tuple[bool, str]:
    """Whether the size trains now, and why: a run already started in its folder is resumed or finished; else the
    flow's ``train`` parameter decides when given; else the corpus must have grown by ``min_new_tokens`` train
    tokens since the previous model's corpus (no previous model: it trains)."""
    if case.started:
        return True, f"{case.target} has a run of this corpus version: resume or finish it"
    if case.asked is not None:
        return case.asked, "asked by the flow's `train` parameter"
    if grown_enough(case.train_tokens, case.previous_train_tokens, case.min_new_tokens):
        return True, "no model of this size yet" if case.previous is None else f"the corpus grew since {case.previous}"
    grown = case.train_tokens - (case.previous_train_tokens or 0)
    return False, (
        f"the corpus has {grown:,} new train tokens since {case.previous}, fewer than train.min_new_tokens "
        f"({case.min_new_tokens:,}); pass train=True to train anyway"
    )
