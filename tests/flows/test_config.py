from __future__ import annotations

from pathlib import Path

import pytest

from flows.config import ConfigError, RunConfig, load_run_config
from flows.serve import deployment_spec

CONFIGS = Path(__file__).resolve().parents[2] / "flows" / "configs"


@pytest.mark.parametrize("name", ["sample.yaml", "full.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    config = load_run_config(CONFIGS / name)
    assert config.harvest.to_config().min_karma == 3


def test_sample_config_generates_and_harvests_the_sample() -> None:
    config = load_run_config(CONFIGS / "sample.yaml")
    assert config.sample.generate
    assert all(str(dump).startswith(str(config.sample.dir)) for dump in config.harvest.dumps)
    assert config.urls_dir == config.data_root / "urls"


def test_defaults_work_on_one_machine() -> None:
    config = RunConfig()
    assert config.data_root == Path("build/run") and config.harvest.reddit_api is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("harvest: {min_karam: 3}", "min_karam"),
        ("harvest: {n_buckets: 0}", "n_buckets"),
        ("harvest: {after: not-a-date}", "after"),
        ("harvest: {reddit_api: {page_size: 5}}", "page_size"),
        ("harvest: {reddit_api: {subreddits: []}}", "subreddits"),
        ("harvest: [unclosed", "not valid YAML"),
        ("filter: {min_language_score: 1.5}", "language min_score"),
        ("filter: {selection: best}", "quality selection"),
        ("filter: {heuristics: {top_ngram_max_fraction: {2: 2.0}}}", "top_ngram_max_fraction"),
        ("quality_train: {positive_min_karma: 5}", "negatives"),
    ],
)
def test_bad_configs_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_run_config(path)
    assert "bad.yaml" in str(caught.value)


def test_missing_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_run_config(tmp_path / "nope.yaml")


def test_deployment_is_defined_once_in_prefect_yaml() -> None:
    spec = deployment_spec()
    assert spec["entrypoint"] == "flows/webtext.py:webtext"
    assert spec["schedules"][0]["cron"] == "0 3 * * *"
    assert spec["parameters"]["config_path"] == "flows/configs/sample.yaml"
    with pytest.raises(KeyError, match="no deployment"):
        deployment_spec("webtext-nope")


def test_only_transient_failures_are_retried() -> None:
    from prefect.states import Failed

    from flows.webtext import retry_when_transient
    from pipeline.harvest.dumps import CorruptDumpError
    from pipeline.harvest.reddit_api import RedditApiError

    def failed_with(error: BaseException) -> bool:
        return retry_when_transient(None, None, Failed(data=error))

    assert failed_with(RedditApiError("HTTP 503 after 6 attempts"))
    assert failed_with(ConnectionResetError("reset by peer"))
    assert not failed_with(CorruptDumpError(Path("RS_2019-01.zst"), "truncated"))
    assert not failed_with(FileNotFoundError("dump not found: RS_x.zst"))
    assert not failed_with(ValueError("n_buckets must be between 1 and 65536"))


def test_filter_settings_reach_the_stage_config() -> None:
    config = load_run_config(CONFIGS / "sample.yaml")
    assert config.quality_train is not None and config.quality_train.to_config().positive_min_karma == 5
    trained = config.quality_model_dir / "quality.bin"
    stage_config = config.filter.to_config(trained)
    assert stage_config.quality.model_path == str(trained) and stage_config.language.languages == ("en",)
    assert stage_config.heuristics == RunConfig().filter.to_config().heuristics  # defaults: the Gopher thresholds
    assert config.filtered_dir == config.data_root / "docs" / "filtered"
