"""FetchConfig refuses bad values with a message naming the field; ``--resolve`` entries are checked; its flags,
YAML section and docs agree."""

from __future__ import annotations

import pytest
from config_contract import cli_settings, command_parser, disagreements, docs_settings, yaml_keys

from pipeline.fetch.config import DEFAULT_AI_OPTOUT_AGENTS, FetchConfig, parse_resolve
from pipeline.settings import config_from_arguments, section_model


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("concurrency", 0),
        ("per_host_concurrency", 0),
        ("max_bytes", 0),
        ("batch_size", 0),
        ("circuit_breaker_failures", 0),
        ("connect_timeout_s", 0),
        ("read_timeout_s", -1.0),
        ("total_timeout_s", 0.0),
        ("backoff_base_s", 0),
        ("per_host_delay_s", -0.5),
        ("max_redirects", -1),
        ("max_retries", -1),
        ("max_retry_after_s", -1),
        ("user_agent", "  "),
        ("user_agent", "1337bot/1.0"),  # no product token for robots.txt groups to name
        ("ai_optout_agents", ("GPTBot", "Claude Bot")),
        ("robots_ttl_s", 0),
        ("robots_ttl_s", 86_401),  # RFC 9309: a robots.txt is not trusted for more than a day
        ("robots_retry_s", 0),
    ],
)
def test_bad_value_is_refused_naming_the_field(field, value) -> None:
    with pytest.raises(ValueError, match=field):
        FetchConfig(**{field: value})


def test_defaults_are_valid_and_pins_are_lower_cased() -> None:
    cfg = FetchConfig(resolve={"News.Test": "127.0.0.1:8080"})
    assert cfg.resolve == {"news.test": "127.0.0.1:8080"}
    assert not cfg.allow_private and cfg.respect_robots


def test_robots_txt_is_read_as_webtext_fetch_with_the_ai_optouts_on() -> None:
    cfg = FetchConfig()
    assert cfg.robots_token == "webtext-fetch"
    assert cfg.ai_optout_tokens == tuple(name.lower() for name in DEFAULT_AI_OPTOUT_AGENTS)
    assert {"gptbot", "ccbot", "google-extended", "anthropic-ai", "claudebot"} <= set(cfg.ai_optout_tokens)
    for off in ({"respect_ai_optouts": False}, {"ai_optout_agents": ()}, {"respect_robots": False}):
        assert FetchConfig(**off).ai_optout_tokens == ()


def test_flags_and_yaml_give_the_same_robots_settings() -> None:
    argv = ["--no-ai-optouts", "--ai-optout-agents", "GPTBot,SomeBot", "--robots-ttl", "3600", "--robots-retry", "60"]
    args = command_parser("fetch").parse_args(["urls", "--out", "fetch", *argv])
    yaml_section = {
        "respect_ai_optouts": False,
        "ai_optout_agents": ["GPTBot", "SomeBot"],
        "robots_ttl_s": 3600,
        "robots_retry_s": 60,
    }
    expected = FetchConfig(
        respect_ai_optouts=False, ai_optout_agents=("GPTBot", "SomeBot"), robots_ttl_s=3600.0, robots_retry_s=60.0
    )
    assert config_from_arguments(FetchConfig, args) == expected
    assert section_model(FetchConfig).model_validate(yaml_section).config() == expected


def test_the_cli_the_yaml_and_the_docs_list_the_same_settings() -> None:
    cli = cli_settings("fetch")
    assert set(cli) == yaml_keys(FetchConfig)
    assert not disagreements(cli, docs_settings("fetch.md"))


@pytest.mark.parametrize("pin", ["not-an-ip", "127.0.0.1:0", "10.0.0.1:port"])
def test_bad_pin_in_config_is_refused(pin) -> None:
    with pytest.raises(ValueError, match="resolve"):
        FetchConfig(resolve={"news.test": pin})


def test_parse_resolve_accepts_ipv4_and_bracketed_ipv6_with_ports() -> None:
    assert parse_resolve(["news.test=127.0.0.1:8080", "x=[::1]:9", " Blog.Test = 10.0.0.2 "]) == {
        "news.test": "127.0.0.1:8080",
        "x": "[::1]:9",
        "blog.test": "10.0.0.2",
    }


@pytest.mark.parametrize(
    "entry", ["bad", "h=999.1.1.1", "h=1.2.3.4:70000", "=127.0.0.1", "h=", "h=1.2.3.4:http", "h=[::1]:99999"]
)
def test_parse_resolve_refuses_malformed_entries(entry) -> None:
    with pytest.raises(ValueError, match="resolve entry"):
        parse_resolve([entry])
