"""One source of truth: a config dataclass's fields are its CLI flags and its YAML section, with one rule set."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pipeline.cli import build_parser
from pipeline.dedup.config import DedupConfig, SparkConfig
from pipeline.extract.config import ExtractConfig
from pipeline.fetch.config import FetchConfig
from pipeline.filter.config import FilterConfig, QualityTrainConfig
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.reddit_api import RedditApiConfig
from pipeline.settings import (
    add_config_arguments,
    config_fields,
    config_from_arguments,
    section_defaults,
    section_model,
    setting,
)

STAGE_CONFIGS = [HarvestConfig, RedditApiConfig, FetchConfig, ExtractConfig, DedupConfig, FilterConfig]
STAGE_CONFIGS.append(QualityTrainConfig)


@dataclasses.dataclass(frozen=True, slots=True)
class Inner:
    master: str = setting("local[*]", help="where it runs")


@dataclasses.dataclass(frozen=True, slots=True)
class Throwaway:
    """A stage config made up for the test, as a new stage would write it."""

    rounds: int = setting(3, help="how many rounds")
    languages: tuple[str, ...] = setting(("en",), help="languages kept")
    shares: tuple[tuple[int, float], ...] = setting(((2, 0.2),), help="n=share")
    pins: dict[str, str] = setting(factory=dict, help="HOST=IP")
    verify: bool = setting(True, help="check twice")
    since: datetime | None = setting(None, help="start")
    inner: Inner = setting(factory=Inner, help="the engine")

    def __post_init__(self) -> None:
        if self.rounds < 0:
            raise ValueError(f"rounds must be >= 0, got {self.rounds}")


def parse(cls: type, argv: list[str]) -> object:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, cls)
    return config_from_arguments(cls, parser.parse_args(argv))


def test_a_new_field_is_one_edit_away_from_the_cli_and_the_yaml() -> None:
    grown = dataclasses.make_dataclass(
        "Grown", [("patience_s", float, setting(2.5, help="seconds to wait"))], bases=(ExtractConfig,), frozen=True
    )
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, grown)
    assert "--patience-s" in parser.format_help() and "seconds to wait (default: 2.5)" in parser.format_help()
    assert config_from_arguments(grown, parser.parse_args(["--patience-s", "4"])).patience_s == 4.0
    assert config_from_arguments(grown, parser.parse_args([])) == grown()
    section = section_model(grown).model_validate({"patience_s": 7, "min_words": 10})
    assert section.config() == grown(patience_s=7.0, min_words=10)
    assert section_defaults(grown)["patience_s"] == 2.5


def test_flags_and_yaml_read_values_by_the_same_rules() -> None:
    argv = ["--rounds", "5", "--languages", "en,de", "--languages", "fr", "--shares", "3=0.1", "--no-verify"]
    argv += ["--pins", "a.test=127.0.0.1:8080", "--since", "2019-01-01", "--inner-master", "yarn"]
    from_flags = parse(Throwaway, argv)
    yaml_section = {
        "rounds": 5,
        "languages": ["en", "de", "fr"],
        "shares": {3: 0.1},
        "pins": {"a.test": "127.0.0.1:8080"},
        "verify": False,
        "since": "2019-01-01",
        "inner": {"master": "yarn"},
    }
    from_yaml = section_model(Throwaway).model_validate(yaml_section).config()
    assert from_flags == from_yaml
    assert from_yaml.languages == ("en", "de", "fr") and from_yaml.shares == ((3, 0.1),)
    assert from_yaml.since == datetime(2019, 1, 1) and from_yaml.inner == Inner("yarn")
    written_as_text = {"languages": "en, de", "pins": ["a.test=127.0.0.1:8080"], "shares": ["3=0.1"]}
    assert section_model(Throwaway).model_validate(written_as_text).config().languages == ("en", "de")


def test_the_dataclass_is_the_only_place_a_rule_lives() -> None:
    with pytest.raises(ValueError, match="rounds must be >= 0, got -1"):
        parse(Throwaway, ["--rounds", "-1"])
    with pytest.raises(ValidationError, match="rounds must be >= 0, got -1"):
        section_model(Throwaway).model_validate({"rounds": -1})
    with pytest.raises(ValueError, match="--rounds: .*integer"):
        parse(Throwaway, ["--rounds", "many"])
    with pytest.raises(ValueError, match="--pins: 'nonsense' is not KEY=VALUE"):
        parse(Throwaway, ["--pins", "nonsense"])
    with pytest.raises(ValidationError, match="inner.nope"):
        section_model(Throwaway).model_validate({"inner": {"nope": 1}})


@pytest.mark.parametrize("cls", STAGE_CONFIGS, ids=lambda cls: cls.__name__)
def test_stage_configs_derive_their_defaults_unchanged(cls: type) -> None:
    assert parse(cls, []) == cls()
    assert section_model(cls)().config() == cls()
    assert section_model(cls).model_validate(section_defaults(cls)).config() == cls()


@pytest.mark.parametrize("cls", [*STAGE_CONFIGS, SparkConfig], ids=lambda cls: cls.__name__)
def test_every_stage_setting_says_what_it_is_for(cls: type) -> None:
    assert all(field.help for field in config_fields(cls)), [
        field.name for field in config_fields(cls) if not field.help
    ]


def test_workers_sits_in_the_same_place_in_every_stage_with_processes() -> None:
    for cls in (HarvestConfig, ExtractConfig, FilterConfig):
        (workers,) = [field for field in config_fields(cls) if field.name == "workers"]
        assert workers.default is None and workers.help.startswith("worker processes")
        with pytest.raises(ValueError, match="workers must be an integer between 1 and 1024"):
            cls(workers=0)


def test_stage_commands_expose_every_field() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    harvest = commands["harvest"].parse_args(["--out", "x", "--block-domain", "a.test", "--after", "2019-02-01"])
    cfg = config_from_arguments(HarvestConfig, harvest)
    assert cfg.extra_blocked_domains == ("a.test",) and cfg.after == datetime(2019, 2, 1, tzinfo=UTC)
    dedup = commands["dedup"].parse_args(["docs", "--out", "x", "--spark-master", "local[2]", "--no-verify"])
    assert config_from_arguments(DedupConfig, dedup) == DedupConfig(verify=False, spark=SparkConfig("local[2]"))
    filtering = commands["filter"].parse_args(["docs", "--out", "x", "--no-heuristics", "--min-words", "20"])
    cfg = config_from_arguments(FilterConfig, filtering)
    assert not cfg.heuristics.enabled and cfg.heuristics.min_words == 20
    fetch = commands["fetch"].parse_args(["urls", "--out", "x", "--delay", "0.1", "--no-robots"])
    assert config_from_arguments(FetchConfig, fetch) == FetchConfig(per_host_delay_s=0.1, respect_robots=False)


def test_workers_resolve_to_one_per_core_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.settings import resolve_workers

    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert (resolve_workers(None), resolve_workers(0), resolve_workers(3)) == (6, 6, 3)
    monkeypatch.setattr("os.cpu_count", lambda: None)  # os.cpu_count() may not know
    assert resolve_workers(None) == 1
