from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.config import STAGES, ConfigError, RunConfig, load_run_config, match_dumps
from flows.serve import concurrency_limit, deployment_spec
from pipeline.dedup.config import DedupConfig
from pipeline.fetch.config import FetchConfig
from pipeline.filter.config import HeuristicConfig

CONFIGS = Path(__file__).resolve().parents[2] / "flows" / "configs"


@pytest.mark.parametrize("name", ["sample.yaml", "full.yaml", "nightly.yaml", "cluster.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    config = load_run_config(CONFIGS / name)
    assert config.harvest.config().min_karma == 3
    assert config.stages == list(STAGES)  # the nightly build trains only when the corpus grew (train.min_new_tokens)
    assert config.train.min_new_tokens == (10**9 if name == "nightly.yaml" else 0)
    assert "services:" in (CONFIGS / name).read_text(encoding="utf-8")  # every shipped config names its services


def test_every_stage_reads_the_one_services_section(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "services:\n"
        "  ray: {address: 'ray://head.test:10001', token_file: /run/secrets/ray_token}\n"
        "  spark: {master: 'spark://spark.test:7077', conf: {spark.executor.memory: 3g}}\n"
        "  mlflow: {tracking_uri: 'http://mlflow.test:5000', experiment: sizes}\n"
        "  task_runner: {kind: ray, ray_init: {num_cpus: 2}}\n"
        "decontaminate: {wikipedia_dumps: [wiki.xml]}\n"
        "evaluate: {tasks: [lambada]}\n",
        encoding="utf-8",
    )
    config = load_run_config(path)
    services = config.service_settings
    assert config.dedup.config().spark == services.spark == config.decontaminate.config().spark
    assert services.spark.conf == (("spark.executor.memory", "3g"),)
    train, evaluate = config.train.config(), config.evaluate.config()
    assert train.ray_address == "ray://head.test:10001" and train.ray_token_file == Path("/run/secrets/ray_token")
    assert train.mlflow_tracking_uri == evaluate.mlflow_tracking_uri == "http://mlflow.test:5000"
    assert train.experiment == evaluate.experiment == "sizes"
    assert services.task_runner.kind == "ray" and services.task_runner.ray_init == {"num_cpus": 2}
    assert config.dedup.config() == DedupConfig(spark=services.spark)  # nothing else of the stage changed
    assert RunConfig().dedup.config() == DedupConfig()  # the defaults of one config never leak into another


@pytest.mark.parametrize(
    ("text", "moved_to"),
    [
        ("task_runner: {kind: ray, address: 'ray://x:10001'}", "services.task_runner"),
        ("dedup: {spark: {master: 'local[2]'}}", "dedup: spark is not set here: it moved to services.spark"),
        ("decontaminate: {spark: {master: 'local[2]'}}", "decontaminate: spark .*services.spark"),
        ("train: {ray_address: 'ray://x:10001'}", "train: ray_address .*services.ray.address"),
        ("train: {mlflow_tracking_uri: 'http://x:5000'}", "train: mlflow_tracking_uri .*services.mlflow.tracking_uri"),
        ("train: {experiment: other}", "train: experiment .*services.mlflow.experiment"),
        ("evaluate: {mlflow_tracking_uri: 'http://x:5000'}", "evaluate: mlflow_tracking_uri .*services.mlflow"),
        ("train: {model: mini}", "train: model is not set here: .*train.models"),
    ],
)
def test_old_per_stage_service_keys_say_where_they_moved(tmp_path: Path, text: str, moved_to: str) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=moved_to) as caught:
        load_run_config(path)
    assert "old.yaml" in str(caught.value)


def test_sample_config_generates_and_harvests_the_sample() -> None:
    config = load_run_config(CONFIGS / "sample.yaml")
    assert config.sample.generate
    assert all(str(dump).startswith(str(config.sample.dir)) for dump in config.harvest.dumps)
    assert config.urls_dir == config.data_root / "urls"


def test_defaults_work_on_one_machine() -> None:
    config = RunConfig()
    assert config.data_root == Path("build/run") and config.harvest.reddit_api is None
    assert config.dedup.config() == DedupConfig() and config.fetch.config() == FetchConfig()


def test_stage_sections_take_the_dataclass_fields_and_the_run_inputs(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "stages: [harvest, fetch]\n"
        "harvest: {dumps: [a.zst], after: 2019-01-01, block_domain: [], extra_blocked_domains: [x.test]}\n"
        "fetch: {resolve: [news.test=127.0.0.1:8080], per_host_delay_s: 0.1}\n"
        "services: {spark: {master: 'local[2]', conf: {spark.executor.memory: 1g}}}\n"
        "dedup: {against: old/deduped}\n"
        "filter: {heuristics: {top_ngram_max_fraction: {2: 0.3}}, quality: {selection: pareto}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="block_domain"):  # a CLI flag name is not a field name
        load_run_config(path)
    path.write_text(path.read_text().replace("block_domain: [], ", ""), encoding="utf-8")
    config = load_run_config(path)
    assert config.runs("fetch") and not config.runs("dedup")
    harvest = config.harvest.config()
    assert harvest.after == datetime(2019, 1, 1, tzinfo=UTC) and harvest.extra_blocked_domains == ("x.test",)
    assert config.harvest.dumps == ["a.zst"]
    assert config.fetch.config().resolve == {"news.test": "127.0.0.1:8080"}
    dedup = config.dedup.config()
    assert dedup.spark.master == "local[2]" and dedup.spark.conf == (("spark.executor.memory", "1g"),)
    assert config.dedup.against == Path("old/deduped")
    filtering = config.filter.config()
    assert filtering.heuristics.top_ngram_max_fraction == ((2, 0.3),) and filtering.quality.selection == "pareto"


def test_dump_patterns_expand_in_name_order_and_name_what_matches_nothing(tmp_path: Path) -> None:
    for name in ("RS_2017-11.zst", "RS_2017-10.zst", "notes.txt", "plain.bz2"):
        (tmp_path / name).touch()
    (tmp_path / "RS_2017-12.zst").mkdir()  # not a file
    patterns = [str(tmp_path / "RS_*.zst"), str(tmp_path / "plain.bz2"), str(tmp_path / "RS_1999-*.zst"), "gone.xz"]
    dumps, unmatched = match_dumps(patterns)
    assert [path.name for path in dumps] == ["RS_2017-10.zst", "RS_2017-11.zst", "plain.bz2"]
    assert unmatched == [str(tmp_path / "RS_1999-*.zst"), "gone.xz"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("harvest: {min_karam: 3}", "min_karam"),
        ("harvest: {n_buckets: 0}", "n_buckets"),
        ("harvest: {after: not-a-date}", "after"),
        ("harvest: {reddit_api: {page_size: 500}}", "page_size"),
        ("harvest: {reddit_api: {subreddits: []}}", "subreddits"),
        ("harvest: [unclosed", "not valid YAML"),
        ("filter: {language: {min_score: 1.5}}", "language min_score"),
        ("filter: {quality: {selection: best}}", "quality selection"),
        ("filter: {min_language_score: 0.5}", "min_language_score"),
        ("services: {spark: {master: mars}}", "services.spark: spark master"),
        ("services: {spark: {master: 'spark-master:7077'}}", "write spark://spark-master:7077"),
        ("services: {task_runner: {kind: dask}}", "task_runner kind"),
        ("services: {mlflow: {experiment: ' '}}", "experiment"),
        ("fetch: {resolve: [nonsense]}", "resolve"),
        ("stages: [harvest, training]", "stages"),
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
    assert spec["parameters"]["config_path"] == "flows/configs/nightly.yaml"  # real data; the demo runs the sample
    limit = concurrency_limit(spec)
    assert (limit.limit, limit.collision_strategy.value) == (1, "ENQUEUE")  # two builds never overlap
    with pytest.raises(KeyError, match="no deployment"):
        deployment_spec("webtext-nope")


def test_only_transient_failures_are_retried() -> None:
    from prefect.states import Failed

    from flows.stages import retry_when_transient
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
    assert config.quality_train is not None and config.quality_train.config().positive_min_karma == 5
    stage_config = config.filter.config()
    assert stage_config.language.languages == ("en",) and stage_config.quality.model_path is None
    assert stage_config.heuristics == HeuristicConfig()  # defaults: the Gopher thresholds
    assert config.filtered_dir == config.data_root / "docs" / "filtered"


def test_the_flow_checks_the_services_its_stages_use_before_any_work(tmp_path: Path) -> None:
    import socket

    from flows.webtext import check_run_services
    from pipeline.services.preflight import ServiceUnavailable

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{probe.getsockname()[1]}"
    path = tmp_path / "run.yaml"
    path.write_text(
        f"data_root: {tmp_path / 'run'}\n"
        f"services: {{ray: {{address: 'ray://{dead}'}}, spark: {{master: 'spark://{dead}'}}, "
        f"mlflow: {{tracking_uri: 'http://{dead}'}}}}\n",
        encoding="utf-8",
    )
    config = load_run_config(path)
    for stages, setting in ((["train"], "services.ray.address"), (["dedup"], "services.spark.master")):
        with pytest.raises(ServiceUnavailable, match=setting):
            check_run_services(config.model_copy(update={"stages": stages}), None)
    with pytest.raises(ServiceUnavailable, match="services.mlflow.tracking_uri"):
        check_run_services(config.model_copy(update={"stages": ["evaluate"]}), None)
    check_run_services(config.model_copy(update={"stages": ["harvest", "fetch", "extract"]}), None)  # none used
    assert not (tmp_path / "run").exists()
