"""HarvestConfig validates itself with messages that name the bad field; its flags, YAML section and docs agree."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from config_contract import cli_settings, command_parser, disagreements, docs_settings, shown, yaml_keys
from pydantic import ValidationError

from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.link_rules import BLOCKED_EXTENSIONS, DEFAULT_BLOCKED_DOMAINS
from pipeline.harvest.reddit_api import RedditApiConfig
from pipeline.settings import config_from_arguments, section_model


def from_flags(*argv: str) -> HarvestConfig:
    args = command_parser("harvest").parse_args(["--out", "urls", *argv])
    return config_from_arguments(HarvestConfig, args)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_karma": "3"}, "min_karma must be an integer, got '3'"),
        ({"min_karma": True}, "min_karma must be an integer, got True"),
        ({"n_buckets": 0}, "n_buckets must be an integer between 1 and 65536, got 0"),
        ({"n_buckets": 65537}, "n_buckets must be an integer between 1 and 65536, got 65537"),
        ({"n_buckets": 2.5}, "n_buckets must be an integer between 1 and 65536, got 2.5"),
        ({"workers": 0}, "workers must be an integer between 1 and 1024"),
        ({"after": "yesterday"}, "after: 'yesterday' is not a date; use YYYY-MM-DD"),
        ({"before": "2019-13-01"}, "before: '2019-13-01' is not a date"),
        ({"after": "2019-02-01", "before": "2019-02-01"}, r"after \(2019-02-01\) must be earlier than before"),
        ({"blocked_domains": ("imgur.com/a",)}, "blocked_domains must be bare host names"),
        ({"extra_blocked_domains": ("news.test", " ")}, "extra_blocked_domains must be bare host names"),
        ({"blocklists": ("a/ads.txt", "b/ads.txt")}, "blocklists 'a/ads.txt' and 'b/ads.txt' share the name 'ads'"),
    ],
)
def test_bad_values_are_refused_naming_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HarvestConfig(**overrides)


def test_the_limits_themselves_are_accepted() -> None:
    assert HarvestConfig(n_buckets=1).n_buckets == 1
    assert HarvestConfig(n_buckets=65536, min_karma=-5, workers=1024).min_karma == -5


def test_defaults_work_on_one_machine() -> None:
    cfg = HarvestConfig()
    assert (cfg.min_karma, cfg.after, cfg.before, cfg.allow_nsfw) == (3, None, None, False)
    assert (cfg.n_buckets, cfg.skip_corrupt, cfg.workers, cfg.extra_blocked_domains) == (16, False, None, ())
    assert cfg.blocklists == ()
    assert cfg.blocked_domains == DEFAULT_BLOCKED_DOMAINS and "imgur.com" in cfg.blocked_domains
    assert cfg.blocked_extensions == tuple(sorted(BLOCKED_EXTENSIONS)) and "jpg" in cfg.blocked_extensions


def test_dates_hosts_and_extensions_are_normalised() -> None:
    cfg = HarvestConfig(
        after="2019-01-01T05:00:00+02:00",
        before="2019-02-01",
        blocked_domains=(" WWW.Imgur.com ",),
        extra_blocked_domains=("News.Test",),
        blocked_extensions=(".JPG", "png"),
    )
    assert cfg.after == datetime(2019, 1, 1, 3, tzinfo=UTC)  # an offset is converted to UTC
    assert cfg.before == datetime(2019, 2, 1, tzinfo=UTC)  # a bare date is midnight UTC
    assert cfg.blocked_domains == ("imgur.com",) and cfg.extra_blocked_domains == ("news.test",)
    assert cfg.all_blocked_domains == ("imgur.com", "news.test")
    assert cfg.blocked_extensions == ("jpg", "png")


def test_the_scan_identity_leaves_out_what_a_scan_does_not_depend_on() -> None:
    base = HarvestConfig().scan_identity()
    assert HarvestConfig(min_karma=50, workers=2, skip_corrupt=True).scan_identity() == base  # applied after the scan
    assert HarvestConfig(blocklists=("ads.txt",)).scan_identity() == base  # applied per bucket: no rescan
    changes = [
        {"after": "2019-01-01"},
        {"before": "2019-01-01"},
        {"allow_nsfw": True},
        {"extra_blocked_domains": ("news.test",)},
        {"blocked_extensions": ("jpg",)},
        {"n_buckets": 8},
    ]
    for change in changes:
        assert HarvestConfig(**change).scan_identity() != base, change


def test_flags_and_yaml_give_the_same_config() -> None:
    argv = ["--min-karma", "5", "--after", "2019-01-01", "--before", "2019-03-01", "--allow-nsfw"]
    argv += ["--block-domain", "news.test,blog.test", "--blocked-extensions", "pdf", "--buckets", "4"]
    argv += ["--skip-corrupt", "--workers", "2", "--blocklist", "lists/ads.txt", "--blocklist", "paid.txt"]
    yaml_section = {
        "min_karma": 5,
        "after": "2019-01-01",
        "before": "2019-03-01",
        "allow_nsfw": True,
        "extra_blocked_domains": ["news.test", "blog.test"],
        "blocked_extensions": ["pdf"],
        "n_buckets": 4,
        "skip_corrupt": True,
        "workers": 2,
        "blocklists": ["lists/ads.txt", "paid.txt"],
    }
    expected = HarvestConfig(
        min_karma=5,
        after=datetime(2019, 1, 1, tzinfo=UTC),
        before=datetime(2019, 3, 1, tzinfo=UTC),
        allow_nsfw=True,
        extra_blocked_domains=("news.test", "blog.test"),
        blocked_extensions=("pdf",),
        n_buckets=4,
        skip_corrupt=True,
        workers=2,
        blocklists=(Path("lists/ads.txt"), Path("paid.txt")),
    )
    assert from_flags(*argv) == section_model(HarvestConfig).model_validate(yaml_section).config() == expected
    assert from_flags() == section_model(HarvestConfig)().config() == HarvestConfig()


def test_a_bad_value_gets_the_same_message_from_a_flag_and_from_yaml() -> None:
    message = "n_buckets must be an integer between 1 and 65536, got 0"
    with pytest.raises(ValueError, match=message):
        from_flags("--buckets", "0")
    with pytest.raises(ValidationError, match=message):
        section_model(HarvestConfig).model_validate({"n_buckets": 0})
    with pytest.raises(ValueError, match="--min-karma: .*integer"):
        from_flags("--min-karma", "many")
    with pytest.raises(SystemExit):  # argparse refuses a flag that is not a setting
        command_parser("harvest").parse_args(["--out", "urls", "--n-buckets", "4"])


def test_the_cli_the_yaml_and_the_docs_list_the_same_settings() -> None:
    cli = cli_settings("harvest", dests=("config.", "reddit_api."))
    api_keys = {f"reddit_api.{key}" for key in yaml_keys(RedditApiConfig)}
    assert set(cli) == yaml_keys(HarvestConfig) | api_keys
    docs = docs_settings("harvest.md")
    assert not disagreements(cli, docs)
    assert set(docs) - set(cli) == {"dumps", "reddit_api"}  # the run inputs
    described = {key: row.default for key, row in docs.items() if shown(row.default) is None}
    assert described == {
        "blocked_domains": f"{len(DEFAULT_BLOCKED_DOMAINS)} hosts",
        "blocked_extensions": f"{len(BLOCKED_EXTENSIONS)} extensions",
        "workers": "one per core",
        "dumps": "none",
        "reddit_api": "off",
    }
