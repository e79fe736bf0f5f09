"""End to end against a real Prefect server (SQLite): a flow run, then the served deployment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from flows.local_server import local_prefect_server, prefect_executable, stop_process_group
from pipeline.shards import complete_shards, read_json

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("prefect-home")
    settings = {"PREFECT_HOME": str(home), "PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "INFO"}
    with local_prefect_server(env=settings, log_path=home / "server.log") as api_url:
        yield {**os.environ, **settings, "PREFECT_API_URL": api_url}


def write_config(directory: Path) -> Path:
    sample_dir = directory / "sample"
    config = {
        "data_root": str(directory / "run"),
        "sample": {"generate": True, "dir": str(sample_dir)},
        "harvest": {
            "dumps": [str(sample_dir / "reddit" / "RS_2019-01.zst"), str(sample_dir / "reddit" / "RS_2019-02.bz2")],
            "after": "2019-01-01",
            "before": "2019-03-01",
            "n_buckets": 2,
        },
        "fetch": {"crawl_sample_web": True, "resolve_only": True, "per_host_delay_s": 0.01, "max_retries": 1},
        "quality_train": {"negatives": [str(sample_dir / "crawl" / "random-crawl.jsonl")], "positive_min_karma": 5},
        "decontaminate": {
            "eval_sets": [f"sample_lambada={sample_dir / 'eval' / 'sample_lambada.jsonl'}"],
            "wikipedia_mirrors": ["wikipedia.test"],
        },
        "tokenize": {"tokenizer": "bpe", "vocab_size": 1024, "val_fraction": 0.2},
        "train": {"models": ["tiny"], "max_steps": 6, "batch_size": 4, "log_every": 2, "eval_every": 3},
        "evaluate": {
            "tasks": ["sample_lambada"],
            "task_paths": [f"sample_lambada={sample_dir / 'eval' / 'sample_lambada.jsonl'}"],
            "limit": 4,
        },
    }
    path = directory / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def assert_built(directory: Path) -> None:
    """Harvest and fetch did on the sample exactly what the sample planted."""
    urls = directory / "run" / "urls"
    assert len(complete_shards(urls)) == 2
    summary = read_json(urls / "summary.json")
    expected = read_json(directory / "sample" / "manifest.json")["expected"]
    assert summary["urls_kept"] == len(expected["urls"]) and summary["outcomes"] == expected["outcomes"]
    pages = pa.concat_tables(
        pq.read_table(shard) for shard in (directory / "run" / "fetch" / "pages").glob("*.parquet")
    )
    assert dict(zip(pages["url"].to_pylist(), pages["outcome"].to_pylist())) == expected["fetch"]
    extracted = read_json(directory / "run" / "docs" / "extracted" / "summary.json")
    fetched_ok = sum(outcome == "ok" for outcome in expected["fetch"].values())
    assert extracted["outcomes"] == {"too_short": 3}  # the sample's three thin pages
    assert extracted["documents"] == fetched_ok - 3
    deduped = read_json(directory / "run" / "docs" / "deduped" / "summary.json")
    # the sample's mirror copies, the moved and shortened URLs to one article, a recoded French page, ...
    assert deduped["documents"] == extracted["documents"]
    assert deduped["outcomes"] == {"exact_duplicate": 5, "near_duplicate": 2}
    assert deduped["kept"] == extracted["documents"] - 7
    filtered = read_json(directory / "run" / "docs" / "filtered" / "summary.json")
    # the sample's nine foreign-language pages, and its two upvoted spam pages (boilerplate-heavy keyword lists)
    assert filtered["documents"] == deduped["kept"]
    assert filtered["outcomes"]["language_not_allowed"] == 9
    assert filtered["outcomes"]["repeated_lines"] + filtered["outcomes"]["repeated_top_ngram"] == 2
    assert filtered["kept"] + sum(filtered["outcomes"].values()) == filtered["documents"]
    kept = pa.concat_tables(pq.read_table(shard) for shard in complete_shards(directory / "run" / "docs" / "filtered"))
    assert set(kept["language"].to_pylist()) == {"en"} and kept["quality_score"].null_count == 0
    metrics = read_json(directory / "run" / "models" / "quality" / "quality.metrics.json")
    assert metrics["valid_examples"]["hq"] == metrics["valid_examples"]["lq"] > 0
    corpus = read_json(directory / "run" / "corpus" / "summary.json")
    # the sample's three encyclopedia pages go whole; the blog post quoting the sample's eval set loses the quote
    assert corpus["documents"] == filtered["kept"] and corpus["outcomes"] == {"wikipedia_domain": 3}
    assert corpus["trimmed"] == 1 and corpus["details"]["per_reference"]["sample_lambada"]["trimmed"] == 1
    (before,), (after,) = (
        corpus["details"]["overlap_before"]["eval_sets"],
        corpus["details"]["overlap_after"]["eval_sets"],
    )
    assert before["found"] > 0 and after["found"] == 0
    tokens = read_json(directory / "run" / "tokens" / "summary.json")
    manifest = read_json(directory / "run" / "tokens" / "manifest.json")
    assert tokens["documents"] == corpus["kept"] == tokens["outcomes"]["train"] + tokens["outcomes"]["val"]
    assert tokens["outcomes"]["val"] > 0 and tokens["tokens"] == tokens["train_tokens"] + tokens["val_tokens"]
    assert manifest["tokenizer"]["kind"] == "bpe" and manifest["dtype"] == "uint16"
    trained = read_json(directory / "run" / "models" / "tiny" / "summary.json")
    assert trained["steps"] == 6 and trained["details"]["train_loss"] < trained["details"]["first_train_loss"]
    assert trained["details"]["mlflow_tracking_uri"] == f"sqlite:///{(directory / 'run' / 'mlflow.db').resolve()}"
    assert (directory / "run" / "models" / "tiny" / "hf" / "model.safetensors").is_file()
    evaluated = read_json(directory / "run" / "models" / "tiny" / "eval_summary.json")
    assert evaluated["details"]["metrics"]["sample_lambada_examples"] == 4
    assert evaluated["details"]["mlflow_tracking_uri"] == trained["details"]["mlflow_tracking_uri"]
    table = (directory / "run" / "comparison" / "comparison.md").read_text(encoding="utf-8")
    row = table.splitlines()[2]  # the header, the rule, then our one model
    assert row.startswith("| tiny | ") and " | 4 | " in row


def prefect(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [prefect_executable(), *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_flow_run_is_recorded_on_the_server(prefect_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    command = [sys.executable, "-m", "flows.webtext", "--config", str(config)]
    result = subprocess.run(command, env=prefect_env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_built(tmp_path)
    runs = httpx.post(
        f"{prefect_env['PREFECT_API_URL']}/flow_runs/filter",
        json={"flows": {"name": {"any_": ["webtext"]}}},
        timeout=10,
    ).json()
    assert runs and {run["state_type"] for run in runs} == {"COMPLETED"}
    tasks = httpx.post(f"{prefect_env['PREFECT_API_URL']}/task_runs/filter", json={}, timeout=10).json()
    names = {task["name"].rsplit("-", 1)[0] for task in tasks}
    expected = {"generate_sample", "harvest_links", "fetch_pages", "extract_documents", "dedup_documents"}
    expected |= {"train_quality_classifier", "filter_documents", "decontaminate_documents", "tokenize_corpus"}
    expected |= {"train_model", "evaluate_model", "compare_models"}
    assert expected <= names


def wait_for_deployment(env: dict[str, str], server: subprocess.Popen, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, "flows.serve exited early"
        listing = prefect(env, "deployment", "ls")
        if "webtext/webtext-build" in listing.stdout:
            return listing.stdout
        time.sleep(1)
    raise TimeoutError("deployment webtext/webtext-build never appeared")


def test_served_deployment_runs_on_demand(prefect_env: dict[str, str], tmp_path: Path) -> None:
    config = write_config(tmp_path)
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "flows.serve", "--config", str(config)],
        env=prefect_env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_deployment(prefect_env, server)
        inspected = prefect(prefect_env, "deployment", "inspect", "webtext/webtext-build").stdout
        assert "0 3 * * *" in inspected and "UTC" in inspected
        run = prefect(prefect_env, "deployment", "run", "webtext/webtext-build", "--watch", timeout=300)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "Completed" in run.stdout
    finally:
        stop_process_group(server)
        log.close()
    assert_built(tmp_path)
