"""A run's folders as the stages leave them, small: each stage's real ``StageSummary`` (the counts of the bundled
sample's run), Document shards written with the real writer, a trained model's folder and ``compare``'s output."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.layout import LAYOUT
from pipeline.records import Document, document_id, to_table
from pipeline.report.plots import horizontal_bars
from pipeline.shards import atomic_write_bytes, atomic_write_json, shard_name, write_shard
from pipeline.stage import StageSummary

ALL_STAGES = ("harvest", "fetch", "extract", "dedup", "filter", "decontaminate", "tokenize")
HARVEST_OUTCOMES = {"kept": 62, "malformed_json": 3, "blocked_domain": 5, "reddit_link": 5, "bad_type": 5}
HARVEST_OUTCOMES |= {"blank_line": 2, "not_http": 2, "self_post": 2, "nsfw": 1, "invalid_url": 2, "missing_url": 3}
HARVEST_OUTCOMES |= {"blocked_extension": 2, "out_of_window": 2}
FETCH_OUTCOMES = {"ok": 39, "http_404": 2, "http_410": 1, "http_500": 1, "not_html": 1, "not_text": 1}
FETCH_OUTCOMES |= {"redirect_loop": 2, "robots_disallowed": 1, "connection_refused": 1}
FILTER_OUTCOMES = {"language_not_allowed": 7, "language_low_score": 2, "repeated_lines": 1, "repeated_top_ngram": 1}
FILTER_OUTCOMES |= {"low_quality": 2, "language_disputed": 1}
# (counts, outcomes, details) per stage: the sample run's numbers, the filter's checks all used
SUMMARIES: dict[str, tuple[dict[str, int], dict[str, int], dict[str, Any]]] = {
    "harvest": (
        {"lines": 96, "duplicate_submissions": 1, "urls_kept": 49, "urls_below_karma": 2, "karma_kept": 338},
        HARVEST_OUTCOMES,
        {},
    ),
    "fetch": ({"urls": 49, "fetched": 49, "replaced": 0, "bytes": 138_692}, FETCH_OUTCOMES, {"run": 0}),
    "extract": (
        {"pages": 49, "not_fetched": 10, "documents": 36, "charset_detected": 0, "truncated": 0},
        {"too_short": 3},
        {},
    ),
    "dedup": (
        {"documents": 36, "kept": 29, "clusters": 5, "signature_shards_computed": 1},
        {"exact_duplicate": 5, "near_duplicate": 2},
        {
            "clusters": {
                "clusters": 5,
                "cluster_sizes": {"2": 4, "4": 1},
                "largest_clusters": [{"cluster_id": "c1", "kept_id": "k1", "size": 4}],
            }
        },
    ),
    "filter": (
        {"documents": 29, "kept": 15, "shards_rescored": 1},
        FILTER_OUTCOMES,
        {"languages": {"en": 20, "de": 4, "fr": 3, "ja": 2}},
    ),
    "decontaminate": (
        {"documents": 15, "kept": 12, "trimmed": 1, "chars_removed": 818, "pii_email": 3, "pii_phone": 1, "pii_ip": 0},
        {"wikipedia_domain": 3},
        {
            "references": {"sample_lambada": 494},
            "per_reference": {"sample_lambada": {"trimmed": 1, "dropped": 0, "chars_removed": 818}},
            "overlap_before": {"eval_sets": [{"name": "sample_lambada", "ngrams": 539, "found": 71, "percent": 13.17}]},
            "overlap_after": {"eval_sets": [{"name": "sample_lambada", "ngrams": 539, "found": 0, "percent": 0.0}]},
        },
    ),
    "tokenize": (
        {"documents": 11, "tokens": 8586, "train_tokens": 7122, "val_tokens": 1464},
        {"train": 9, "val": 2, "empty_text": 1},
        {"tokenizer": "bpe"},
    ),
}
CONFIGS: dict[str, dict[str, Any]] = {"decontaminate": {"mask_pii": True}}
# the corpus: 12 documents (decontaminate's kept) on these hosts, in these languages
CORPUS_HOSTS = ["news.bbc.co.uk"] * 4 + ["bbc.co.uk"] * 2 + ["blog.example.com"] * 3 + ["example.org", "10.0.0.7"]
CORPUS_HOSTS += ["a.webtext.test"]
CORPUS_LANGUAGES = ["en"] * 11 + [None]


def write_summary(folder: Path, stage: str, **overrides: Any) -> None:
    counts, outcomes, details = SUMMARIES[stage]
    StageSummary(
        stage=stage,
        out_dir=str(folder),
        outcomes=dict(overrides.get("outcomes", outcomes)),
        counts={**counts, **overrides.get("counts", {})},
        units=1,
        units_skipped=0,
        seconds=0.5,
        details={**details, **overrides.get("details", {})},
        config=dict(overrides.get("config", CONFIGS.get(stage, {}))),
    ).write()


def write_documents(folder: Path, hosts: Sequence[str], languages: Sequence[str | None]) -> None:
    """One Document shard (the real schema and writer), one document per host."""
    documents = [
        Document(
            id=document_id(f"http://{host}/{index}"),
            url=f"http://{host}/{index}",
            domain=host.removeprefix("www."),
            title=None,
            text=f"document {index}",
            karma=3,
            fetched_at=datetime(2019, 1, 2, tzinfo=UTC),
            language=language,
        )
        for index, (host, language) in enumerate(zip(hosts, languages, strict=True))
    ]
    write_shard(to_table(documents, Document), folder / shard_name(0), shard_fingerprint="test")


def write_model(models: Path, size: str, n_params: int, metrics: dict[str, float]) -> None:
    folder = models / size / "v0001"
    StageSummary(
        stage="train",
        out_dir=str(folder),
        outcomes={},
        counts={"steps": 60, "n_params": n_params},
        units=1,
        units_skipped=0,
        seconds=30.0,
        details={"model": size, "first_train_loss": 8.3, "train_loss": 5.1, "val_loss": 5.4, "tokens_per_s": 1234.5},
        config={},
    ).write()
    evaluation = StageSummary("evaluate", str(folder), {}, {}, 1, 0, 2.0, {"metrics": metrics})
    atomic_write_json(folder / "eval_summary.json", evaluation.as_json())
    atomic_write_bytes(folder / "loss_curve.png", horizontal_bars(["train"], [5.1], "loss", "nats"))


def write_comparison(folder: Path) -> None:
    markdown = "| model | parameters | limit | sample LAMBADA (PPL) |\n|---|---|---|---|\n"
    markdown += "| tiny | 0.8M | 20 | 900.00 |\n"
    atomic_write_bytes(folder / "comparison.md", markdown.encode())
    csv_text = "model,n_params,limit,mlflow_run_id,sample_lambada_ppl\ntiny,800000,20,abc,900.0\n"
    atomic_write_bytes(folder / "comparison.csv", csv_text.encode())
    atomic_write_bytes(folder / "comparison.png", horizontal_bars(["tiny"], [900.0], "ppl", "ppl"))


MakeRun = Callable[..., Path]


def make_run(root: Path, stages: Sequence[str] = ALL_STAGES, models: bool = False, **overrides: dict[str, Any]) -> Path:
    """A data root holding ``stages``' outputs (``overrides``: per stage, ``counts``, ``outcomes``, ``details`` or
    ``config`` to change), and with ``models`` two trained sizes and ``compare``'s output."""
    for stage in stages:
        write_summary(root.joinpath(*LAYOUT[stage]), stage, **overrides.get(stage, {}))
    if "decontaminate" in stages:
        write_documents(root.joinpath(*LAYOUT["decontaminate"]), CORPUS_HOSTS, CORPUS_LANGUAGES)
    if "filter" in stages:
        write_documents(root.joinpath(*LAYOUT["filter"]), ["www.example.net"] * 2, ["en", "en"])
    if models:
        write_model(root / "models", "tiny", 800_000, {"sample_lambada_ppl": 900.0, "sample_lambada_acc": 0.05})
        write_model(root / "models", "mini", 3_000_000, {"sample_lambada_ppl": 700.0})
        (root / "models" / "quality").mkdir()  # the filter's classifier: not a trained GPT-2
        atomic_write_json(root / "models" / "quality" / "summary.json", {"stage": "quality"})
        write_comparison(root / "comparison")
    return root
