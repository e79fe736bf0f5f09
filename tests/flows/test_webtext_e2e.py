"""End to end against a real Prefect server (SQLite): a flow run, then the served deployment."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from sample_run import write_config

from flows.local_server import local_prefect_server, prefect_executable, stop_process_group
from pipeline.shards import complete_shards, read_json
from pipeline.stage import read_summary

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("prefect-home")
    settings = {"PREFECT_HOME": str(home), "PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "INFO"}
    with local_prefect_server(env=settings, log_path=home / "server.log") as api_url:
        yield {**os.environ, **settings, "PREFECT_API_URL": api_url}


def assert_built(directory: Path) -> None:
    """Harvest and fetch did on the sample exactly what the sample planted."""
    urls = directory / "run" / "urls"
    assert len(complete_shards(urls)) == 2
    summary = read_summary(urls)
    expected = read_json(directory / "sample" / "manifest.json")["expected"]
    assert summary.counts["urls_kept"] == len(expected["urls"]) and summary.outcomes == expected["outcomes"]
    pages = pa.concat_tables(
        pq.read_table(shard) for shard in (directory / "run" / "fetch" / "pages").glob("*.parquet")
    )
    assert dict(zip(pages["url"].to_pylist(), pages["outcome"].to_pylist())) == expected["fetch"]
    extracted = read_summary(directory / "run" / "docs" / "extracted")
    fetched_ok = sum(outcome == "ok" for outcome in expected["fetch"].values())
    # the sample's three thin pages; the press agency's pages its tdmrep.json, a TDM-Reservation header and a robots
    # noai tag reserve (its fourth page, refused by its robots.txt group for GPTBot, is in expected["fetch"])
    assert extracted.outcomes == {"too_short": 3, "tdm_reserved": 2, "robots_noai": 1}
    assert extracted.counts["documents"] == fetched_ok - 6
    deduped = read_summary(directory / "run" / "docs" / "deduped")
    # the sample's mirror copies, the moved and shortened URLs to one article, a recoded French page, ...
    assert deduped.counts["documents"] == extracted.counts["documents"]
    assert deduped.outcomes == {"exact_duplicate": 5, "near_duplicate": 2}
    assert deduped.counts["kept"] == extracted.counts["documents"] - 7
    filtered = read_summary(directory / "run" / "docs" / "filtered")
    # the sample's nine foreign-language pages, and its two upvoted spam pages (boilerplate-heavy keyword lists)
    assert filtered.counts["documents"] == deduped.counts["kept"]
    assert filtered.outcomes["language_not_allowed"] == 9
    assert filtered.outcomes["repeated_lines"] + filtered.outcomes["repeated_top_ngram"] == 2
    assert filtered.counts["kept"] + sum(filtered.outcomes.values()) == filtered.counts["documents"]
    kept = pa.concat_tables(pq.read_table(shard) for shard in complete_shards(directory / "run" / "docs" / "filtered"))
    assert set(kept["language"].to_pylist()) == {"en"} and kept["quality_score"].null_count == 0
    metrics = read_json(directory / "run" / "models" / "quality" / "quality.metrics.json")
    assert metrics["valid_examples"]["hq"] == metrics["valid_examples"]["lq"] > 0
    corpus = read_summary(directory / "run" / "corpus")
    # the sample's three encyclopedia pages go whole; the blog post quoting the sample's eval set loses the quote
    assert corpus.counts["documents"] == filtered.counts["kept"] and corpus.outcomes == {"wikipedia_domain": 3}
    assert corpus.counts["trimmed"] == 1 and corpus.details["per_reference"]["sample_lambada"]["trimmed"] == 1
    (before,), (after,) = (
        corpus.details["overlap_before"]["eval_sets"],
        corpus.details["overlap_after"]["eval_sets"],
    )
    assert before["found"] > 0 and after["found"] == 0
    # the library article's contact line (the sample's only personal data): its address and number masked
    assert (corpus.counts["pii_email"], corpus.counts["pii_phone"], corpus.counts["pii_ip"]) == (1, 1, 0)
    corpus_texts = pa.concat_tables(pq.read_table(shard) for shard in complete_shards(directory / "run" / "corpus"))
    (library,) = [text for text in corpus_texts["text"].to_pylist() if "Harlow Cross" in text]
    assert "write to <EMAIL_ADDRESS> or ring <PHONE_NUMBER> on a weekday" in library
    assert "friends@harlowcross-library.test" in " ".join(kept["text"].to_pylist())  # filter's output holds it
    assert not any("harlowcross-library.test" in text or "960 123" in text for text in corpus_texts["text"].to_pylist())
    tokens = read_summary(directory / "run" / "tokens")
    manifest = read_json(directory / "run" / "tokens" / "manifest.json")
    assert tokens.counts["documents"] == corpus.counts["kept"] == tokens.outcomes["train"] + tokens.outcomes["val"]
    assert (
        tokens.outcomes["val"] > 0
        and tokens.counts["tokens"] == tokens.counts["train_tokens"] + tokens.counts["val_tokens"]
    )
    assert manifest["tokenizer"]["kind"] == "bpe" and manifest["dtype"] == "uint16"
    model = directory / "run" / "models" / "tiny" / "v0001"
    trained = read_summary(model)
    assert trained.counts["steps"] == 6 and trained.details["train_loss"] < trained.details["first_train_loss"]
    assert trained.details["mlflow_tracking_uri"] == f"sqlite:///{(directory / 'run' / 'mlflow.db').resolve()}"
    assert (model / "hf" / "model.safetensors").is_file()
    evaluated = read_summary(model, "eval_summary.json")
    assert evaluated.details["metrics"]["sample_lambada_examples"] == 4
    assert evaluated.details["mlflow_tracking_uri"] == trained.details["mlflow_tracking_uri"]
    table = (directory / "run" / "comparison" / "comparison.md").read_text(encoding="utf-8")
    row = table.splitlines()[2]  # the header, the rule, then our one model
    assert row.startswith("| tiny | ") and " | 4 | " in row


def prefect(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [prefect_executable(), *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
    )


def run_flow(env: dict[str, str], config: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "flows.webtext", "--config", str(config), *args]
    result = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def api(env: dict[str, str], path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.post(f"{env['PREFECT_API_URL']}{path}", json=body or {}, timeout=30)
    response.raise_for_status()
    return response.json()


def webtext_runs(env: dict[str, str]) -> list[dict[str, Any]]:
    """The server's ``webtext`` flow runs, oldest first."""
    runs = api(env, "/flow_runs/filter", {"flows": {"name": {"any_": ["webtext"]}}})
    return sorted(runs, key=lambda run: run["start_time"] or "")


def task_run_names(env: dict[str, str], flow_run_id: str) -> set[str]:
    tasks = api(env, "/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}})
    return {task["name"] for task in tasks}


def mlflow_runs(directory: Path) -> list[Any]:
    client = mlflow.MlflowClient(f"sqlite:///{(directory / 'run' / 'mlflow.db').resolve()}")
    experiment = client.get_experiment_by_name("webtext")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


@dataclasses.dataclass
class Built:
    directory: Path
    config: Path
    first_run: dict[str, Any]
    stdout: str


@pytest.fixture(scope="module")
def built(prefect_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The whole DAG once on the sample, through the server (the module's later tests build on it)."""
    directory = tmp_path_factory.mktemp("dag")
    config = write_config(directory)
    result = run_flow(prefect_env, config)
    return Built(directory, config, webtext_runs(prefect_env)[-1], result.stdout)


def test_the_whole_dag_runs_through_the_server_with_lineage(built: Built, prefect_env: dict[str, str]) -> None:
    assert_built(built.directory)
    run_id = built.first_run["id"]
    assert built.first_run["state_type"] == "COMPLETED"
    names = task_run_names(prefect_env, run_id)
    tasks = {name.rsplit("-", 1)[0] for name in names}
    expected = {"generate_sample", "harvest_links", "fetch_pages", "dedup_documents", "train_quality_classifier"}
    expected |= {"decontaminate_documents", "record_corpus_version", "train_model", "evaluate_model"}
    assert expected | {"compare_models", "run_report"} <= tasks
    for stage in ("extract", "filter", "tokenize"):  # mapped: one task run per shard, named after it
        assert f"{stage}-part-00000" in {name.rsplit("-", 1)[0] for name in names}, sorted(names)

    version = read_json(built.directory / "run" / "versions" / "v0001.json")
    assert version["prefect_flow_run_id"] == run_id
    names = [Path(entry["path"]).name for entry in version["inputs"]]
    assert names == ["RS_2019-01.zst", "RS_2019-02.bz2", "sample.txt"]  # the dumps, then the harvest's blocklist
    assert version["counts"]["dedup"]["outcomes"] == {"exact_duplicate": 5, "near_duplicate": 2}
    tokens_manifest = read_json(built.directory / "run" / "tokens" / "manifest.json")
    assert tokens_manifest["corpus_sha256"] == version["corpus_sha256"]  # the tokens point at their corpus
    training, evaluation = mlflow_runs(built.directory)[:2]
    for run in (training, evaluation):
        tags = run.data.tags
        assert tags["webtext.corpus_version"] == "v0001" and tags["webtext.prefect_flow_run_id"] == run_id
        assert tags["webtext.corpus_sha256"] == version["corpus_sha256"]
        assert tags["webtext.tokens_sha256"] == version["tokens"]["manifest_sha256"]
    assert evaluation.data.tags["training_run_id"] == training.info.run_id

    lineage = subprocess.run(
        [
            str(Path(sys.executable).with_name("webtext")),
            "lineage",
            evaluation.info.run_id,
            "--data-root",
            str(built.directory / "run"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lineage.returncode == 0, lineage.stderr
    assert "corpus version: v0001" in lineage.stdout and "manifest sha256          matches the run" in lineage.stdout
    assert (
        version["inputs"][0]["sha256"] in lineage.stdout
        and f"training: train-tiny ({training.info.run_id})" in lineage.stdout
    )

    report = built.directory / "run" / "report"
    assert {"report.md", "funnel.png", "languages.png", "domains.png", "comparison.md"} <= {
        p.name for p in report.iterdir()
    }
    report_text = (report / "report.md").read_text(encoding="utf-8")
    assert "| email | <EMAIL_ADDRESS> | 1 |" in report_text
    press = "press.webtext.test"
    for row in (
        f"| tdm_reserved | {press} | 2 |",
        f"| robots_ai_optout | {press} | 1 |",
        f"| robots_noai | {press} | 1 |",
    ):
        assert row in report_text
    artifacts = {artifact["key"] for artifact in api(prefect_env, "/artifacts/filter")}
    assert {"webtext-run-report", "webtext-funnel", "webtext-models"} <= artifacts
    reports = [run for run in mlflow_runs(built.directory) if run.data.tags.get("webtext.kind") == "report"]
    assert [run.info.run_name for run in reports] == ["report-v0001"]
    assert "| tiny | " in built.stdout and "corpus version v0001 (new)" in built.stdout

    # the local Ray of the training ran with token authentication; its token is nowhere but its file
    token = Path(os.environ["RAY_AUTH_TOKEN_PATH"]).read_text(encoding="ascii").strip()  # tests/conftest.py
    assert token not in built.stdout
    for written in (built.directory / "run" / "versions" / "v0001.json", built.directory / "run" / "mlflow.db"):
        assert token.encode() not in written.read_bytes(), written


def test_a_second_run_with_nothing_new_does_no_work(built: Built, prefect_env: dict[str, str]) -> None:
    mlflow_before = len(mlflow_runs(built.directory))
    result = run_flow(prefect_env, built.config)
    second = webtext_runs(prefect_env)[-1]
    assert second["id"] != built.first_run["id"] and second["state_type"] == "COMPLETED"
    names = task_run_names(prefect_env, second["id"])
    assert not [name for name in names if name.startswith(("extract-", "filter-", "tokenize-"))]  # no shard to do
    for folder in ("urls", "fetch", "docs/extracted", "docs/deduped", "docs/filtered", "corpus", "tokens"):
        summary = read_summary(built.directory / "run" / folder)
        assert summary.units_done == 0, (folder, summary)
    trained = read_summary(built.directory / "run" / "models" / "tiny" / "v0001")
    assert trained.units_skipped == 1  # finished: neither trained nor exported again
    assert sorted(p.name for p in (built.directory / "run" / "versions").glob("v*.json")) == ["v0001.json"]
    assert "corpus version v0001 (unchanged)" in result.stdout
    evaluated = read_summary(built.directory / "run" / "models" / "tiny" / "v0001", "eval_summary.json")
    assert evaluated.units_skipped == evaluated.units  # read back from MLflow
    after = mlflow_runs(built.directory)  # nothing new: no MLflow run at all, the comparison's included
    assert len(after) == mlflow_before and {run.info.status for run in after} == {"FINISHED"}


NEW_ARTICLE = (
    "Restoring a Wooden Dinghy Over One Winter",
    [
        "The dinghy arrived on a borrowed trailer in late October, its varnish grey and flaking and two of its "
        "planks split along the grain. It had spent a decade under a hedge behind a sailing club, and the owner was "
        "happy to see it go to anyone willing to carry it away before the first frost.",
        "The first job was simply getting it dry. A wooden hull that has soaked up rain for years cannot be glued "
        "or painted, so the boat sat upside down in the garage with a dehumidifier running for most of November. "
        "By the start of December the moisture meter finally read something close to normal.",
        "Stripping the old finish took far longer than expected. A heat gun softened the varnish on the transom, "
        "but the curved sides needed patient work with a cabinet scraper, and every stroke had to follow the grain "
        "to avoid gouging the soft mahogany underneath. Three weekends disappeared into that task alone.",
        "Replacing the split planks was the part everyone had warned about. Each new plank was cut slightly "
        "oversize, steamed in a length of drainpipe fed by a wallpaper stripper, and clamped to the frames while "
        "it was still hot enough to bend. Copper rivets, set with a borrowed dolly, held everything in place.",
        "By March the hull had eight coats of varnish and a new set of oars. The first launch, on a cold and "
        "bright morning, produced a small leak along the garboard seam that closed up within an hour as the wood "
        "swelled. She has been dry ever since, and the club has asked for her back for its summer regatta.",
    ],
)


RESUBMITTED_SCORE = 5


def resubmitted_document(built: Built) -> tuple[str, int]:
    """(URL, karma) of a corpus document the new dump links to again: its karma grows after it was fetched."""
    corpus = pa.concat_tables(pq.read_table(shard) for shard in complete_shards(built.directory / "run" / "corpus"))
    rows = sorted(zip(corpus["id"].to_pylist(), corpus["url"].to_pylist(), corpus["karma"].to_pylist(), strict=True))
    return rows[0][1], rows[0][2]


def add_new_submissions(built: Built, directory: Path, min_new_tokens: int) -> Path:
    """A new article on a copy of the sample web, a new dump of submissions linking to it (one resubmitted) and to
    a page already in the corpus, and a config reading the original dumps plus the new one; returns the config."""
    sample = directory / "sample"
    shutil.copytree(built.directory / "sample" / "web", sample / "web")
    title, paragraphs = NEW_ARTICLE
    body = "".join(f"<p>{paragraph}\n" for paragraph in paragraphs)
    html = (
        f"<html><head><title>{title}</title></head><body><div class='post'><h2>{title}</h2>{body}</div></body></html>"
    )
    page = sample / "web" / "blog.webtext.test" / "posts" / "restoring-a-wooden-dinghy.html"
    page.write_text(html, encoding="utf-8")
    site = json.loads((sample / "web" / "site.json").read_text(encoding="utf-8"))
    site["hosts"]["blog.webtext.test"]["routes"]["/posts/restoring-a-wooden-dinghy"] = {
        "content_type": "text/html; charset=utf-8",
        "file": "blog.webtext.test/posts/restoring-a-wooden-dinghy.html",
        "status": 200,
    }
    (sample / "web" / "site.json").write_text(json.dumps(site), encoding="utf-8")
    url = "http://blog.webtext.test/posts/restoring-a-wooden-dinghy"
    submissions = [
        {"id": "zz001", "url": url, "score": 14, "created_utc": 1550000000, "subreddit": "woodworking"},
        {"id": "zz002", "url": url, "score": 2, "created_utc": 1550100000, "subreddit": "sailing"},
    ]
    again, _ = resubmitted_document(built)
    submissions.append(
        {"id": "zz003", "url": again, "score": RESUBMITTED_SCORE, "created_utc": 1550200000, "subreddit": "t"}
    )
    dump = sample / "RS_2019-02-late.ndjson"
    common = {"is_self": False, "over_18": False, "domain": "blog.webtext.test", "title": title}
    dump.write_text("".join(json.dumps({**common, **row}) + "\n" for row in submissions), encoding="utf-8")
    config = yaml.safe_load(built.config.read_text(encoding="utf-8"))
    config["sample"] = {"generate": False, "dir": str(sample)}
    config["harvest"]["dumps"].append(str(dump))
    config["train"] |= {"min_new_tokens": min_new_tokens, "checkpoint_every": 2}
    path = directory / "incremental.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def run_until(env: dict[str, str], config: Path, marker: Path, *args: str, timeout_s: float = 300) -> None:
    """Start the flow and SIGKILL it (and its children) as soon as ``marker`` changes."""
    before = marker.stat().st_mtime_ns if marker.exists() else None
    command = [sys.executable, "-m", "flows.webtext", "--config", str(config), *args]
    process = subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + timeout_s
    try:
        while (marker.stat().st_mtime_ns if marker.exists() else None) == before:
            assert process.poll() is None, f"the flow ended (status {process.returncode}) before {marker} changed"
            assert time.monotonic() < deadline, f"{marker} never changed"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_new_submissions_flow_through_slices_and_a_killed_run_resumes(
    built: Built, prefect_env: dict[str, str], tmp_path: Path
) -> None:
    run = built.directory / "run"
    resubmitted, karma = resubmitted_document(built)
    config = add_new_submissions(built, tmp_path, min_new_tokens=10**9)
    data = ["--stages", "harvest", "fetch", "extract", "dedup", "filter"]
    run_until(prefect_env, config, run / "docs" / "extracted" / "summary.json", *data)  # killed as dedup starts
    run_flow(prefect_env, config, *data)
    harvest = read_summary(run / "urls")
    assert harvest.counts["urls_kept"] == 54 and harvest.counts["karma_kept"] == 358 + 16 + RESUBMITTED_SCORE
    fetch = read_summary(run / "fetch")  # only the unseen URL was fetched; the resubmitted one got its new karma
    assert fetch.counts["urls"] == 54 and fetch.details["run_outcomes"] in ({"ok": 1}, {})
    assert read_summary(run / "fetch").outcomes["ok"] == 43
    extracted = read_summary(run / "docs" / "extracted")
    assert extracted.counts["documents"] == 37 and extracted.units == 2
    deduped = read_summary(run / "docs" / "deduped")
    # the new page's shard, and the resubmitted page's (its karma changed) decided again: the same decisions
    assert (deduped.counts["documents"], deduped.counts["kept"], deduped.units_done) == (37, 30, 2)
    filtered = read_summary(run / "docs" / "filtered")
    # both shards rescored: the new page (karma 16) is a positive of the quality classifier, retrained on them
    assert (filtered.counts["kept"], filtered.units, filtered.units_done) == (19, 2, 2)

    result = run_flow(prefect_env, config, "--stages", "decontaminate", "tokenize", "train", "evaluate")
    version = read_json(run / "versions" / "v0002.json")
    assert version["previous"] == 1 and version["counts"]["filter"]["counts"]["kept"] == 19
    assert [Path(entry["path"]).name for entry in version["inputs"]][-2:] == ["RS_2019-02-late.ndjson", "sample.txt"]
    assert "corpus version v0002 (new)" in result.stdout and not (run / "models" / "tiny" / "v0002").exists()
    assert version["karma"] == {"documents": version["tokens"]["documents"], "changed": 1, "compared_with": "v0001"}
    corpus = pa.concat_tables(pq.read_table(shard) for shard in complete_shards(run / "corpus"))
    assert dict(zip(corpus["url"].to_pylist(), corpus["karma"].to_pylist(), strict=True))[resubmitted] == (
        karma + RESUBMITTED_SCORE
    )
    assert "evaluate tiny/v0001" in result.stdout  # the newest model is still v0001's

    first_checkpoint = run / "models" / "tiny" / "v0002" / "checkpoints" / "train" / "step-00000002"
    run_until(prefect_env, config, first_checkpoint, "--stages", "models", "--train")  # killed mid-training
    run_flow(prefect_env, config, "--stages", "models", "--train")
    trained = read_summary(run / "models" / "tiny" / "v0002")
    assert trained.counts["steps"] == 6 and trained.counts["train_tokens"] == version["tokens"]["splits"]["train"]
    training = [r for r in mlflow_runs(built.directory) if r.data.tags.get("webtext.corpus_version") == "v0002"]
    kinds = sorted(r.data.tags.get("webtext.kind", "train") for r in training)
    assert kinds == ["compare", "evaluate", "report", "train"]  # the killed training went on in its MLflow run
    assert all(r.data.tags["webtext.corpus_sha256"] == version["corpus_sha256"] for r in training)


def wait_for_deployment(env: dict[str, str], server: subprocess.Popen, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, "flows.serve exited early"
        listing = prefect(env, "deployment", "ls")
        if "webtext/webtext-build" in listing.stdout:
            return listing.stdout
        time.sleep(1)
    raise TimeoutError("deployment webtext/webtext-build never appeared")


def test_served_deployment_runs_on_demand(built: Built, prefect_env: dict[str, str]) -> None:
    log = open(built.directory / "serve.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "flows.serve", "--config", str(built.config)],
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
    deployed = webtext_runs(prefect_env)[-1]
    assert deployed["state_type"] == "COMPLETED" and deployed["deployment_id"] is not None
    versions = sorted(path.name for path in (built.directory / "run" / "versions").glob("v*.json"))
    assert versions == ["v0001.json", "v0002.json"]  # nothing new since the incremental runs
