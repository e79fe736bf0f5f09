"""``webtext lineage RUN_ID``: from a number in the MLflow UI back to the exact data and code behind it.

The chain: an evaluation run → the training run it is nested under → the tokens folder (its
manifest's sha256) → the corpus version manifest (inputs with hashes, config, code version, counts
per stage). Each link says where it was found and whether the files still match the hashes the runs
recorded, so a tokens folder rebuilt since is reported, not silently followed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pipeline.layout import DATA_STAGES
from pipeline.lineage import (
    CODE_TAG,
    CORPUS_TAG,
    FLOW_RUN_TAG,
    MANIFEST_TAG,
    TOKENS_TAG,
    find_version,
    version_path,
)
from pipeline.shards import read_json
from pipeline.tokenize.tokens_folder import TokensFolderError, has_manifest, read_manifest


class LineageError(ValueError):
    """A run id the store does not know, or a run that is not a webtext training or evaluation run."""


@dataclasses.dataclass(frozen=True, slots=True)
class Link:
    """One step of the chain: what it is, and its facts in display order."""

    kind: str
    title: str
    facts: list[tuple[str, str]]


def _run_link(run: Any, kind: str) -> Link:
    tags, info = run.data.tags, run.info
    facts = [
        ("status", info.status),
        ("prefect flow run", tags.get(FLOW_RUN_TAG, "none recorded")),
        ("code", tags.get(CODE_TAG, "not recorded")),
        ("corpus sha256", tags.get(CORPUS_TAG, tags.get("corpus_sha256", "not recorded"))),
        ("tokens manifest sha256", tags.get(TOKENS_TAG, tags.get("tokens_manifest_sha256", "not recorded"))),
    ]
    metrics = {name: value for name, value in run.data.metrics.items() if "/" not in name or kind == "evaluation"}
    shown = sorted(metrics.items())[:12]
    if shown:
        facts.append(("metrics", ", ".join(f"{name} {value:.4g}" for name, value in shown)))
    title = (
        f"{run.info.run_name} ({info.run_id}), model {tags.get('model_size', '?')}, {tags.get('n_params', '?')} params"
    )
    return Link(kind, title, facts)


def _tokens_link(tokens_dir: Path, recorded: str | None) -> Link:
    if not has_manifest(tokens_dir):
        return Link("tokens", str(tokens_dir), [("manifest", "missing: the folder was moved or deleted")])
    try:
        tokens = read_manifest(tokens_dir)
    except TokensFolderError as error:  # the link still shows, with what is wrong with the folder now
        return Link("tokens", str(tokens_dir), [("manifest", f"unreadable now: {error}")])
    state = "matches the run" if tokens.sha256 == recorded else f"CHANGED since the run (now {tokens.sha256})"
    return Link(
        "tokens",
        str(tokens_dir),
        [
            ("manifest sha256", state),
            ("tokens", f"{tokens.tokens:,} ({tokens.documents:,} documents)"),
            ("tokenizer", f"{tokens.tokenizer.get('kind')} with {tokens.vocab_size} ids"),
        ],
    )


def _version_link(version: dict[str, Any], path: Path) -> Link:
    code = version.get("code", {})
    facts = [
        ("manifest", str(path)),
        ("created", f"{version['created']} by flow run {version.get('prefect_flow_run_id') or 'none (CLI)'}"),
        ("corpus sha256", version["corpus_sha256"]),
        (
            "code",
            f"git {code.get('git_commit') or 'n/a'}{' (dirty)' if code.get('dirty') else ''}, package "
            f"{code.get('package')}",
        ),
    ]
    for name, report in version.get("reports", {}).items():
        facts.append((f"{name} report", report))
    for entry in version.get("inputs", []):
        facts.append(("input", f"{entry['path']} ({entry['bytes']:,} bytes, sha256 {entry['sha256']})"))
    stages = version.get("counts", {})
    for stage in sorted(stages, key=lambda name: DATA_STAGES.index(name) if name in DATA_STAGES else len(DATA_STAGES)):
        if record := stages[stage]:
            facts.append((stage, ", ".join(f"{name} {value:,}" for name, value in record["counts"].items())))
    return Link("corpus version", version["name"], facts)


def lineage(uri: str, run_id: str) -> list[Link]:
    """The chain behind ``run_id`` (a training or evaluation run in the store at ``uri``), newest link first."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    try:
        run = client.get_run(run_id)
    except mlflow.exceptions.MlflowException as error:
        raise LineageError(f"run {run_id!r} is not in the MLflow store {uri}") from error
    links = []
    parent_id = run.data.tags.get("training_run_id")
    if parent_id:
        links.append(_run_link(run, "evaluation"))
        try:
            run = client.get_run(parent_id)
        except mlflow.exceptions.MlflowException:
            links.append(Link("training", parent_id, [("run", "not in this store")]))
            return links
    if "tokens_dir" not in run.data.params:
        raise LineageError(f"run {run_id!r} is neither a webtext training run nor an evaluation of one")
    links.append(_run_link(run, "training"))
    tokens_dir = Path(run.data.params["tokens_dir"])
    recorded = run.data.tags.get(TOKENS_TAG) or run.data.params.get("tokens_manifest_sha256")
    links.append(_tokens_link(tokens_dir, recorded))
    manifest_path = run.data.tags.get(MANIFEST_TAG)
    version = read_json(Path(manifest_path)) if manifest_path else None
    if version is None and recorded:
        version = find_version(tokens_dir.parent, recorded)
        manifest_path = str(version_path(tokens_dir.parent, version)) if version else None
    if version is None:
        links.append(Link("corpus version", "none recorded", [("why", "tokenized outside a flow run (CLI)")]))
    else:
        links.append(_version_link(version, Path(manifest_path or "")))
    return links


def format_lineage(links: list[Link]) -> str:
    """The chain as indented text, one link per level."""
    lines = []
    for depth, link in enumerate(links):
        indent = "  " * depth
        lines.append(f"{indent}{'└─ ' if depth else ''}{link.kind}: {link.title}")
        lines += [f"{indent}   {name:<24} {value}" for name, value in link.facts]
    return "\n".join(lines) + "\n"
