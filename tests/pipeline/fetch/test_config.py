"""FetchConfig refuses bad values with a message naming the field; ``--resolve`` entries are checked."""

from __future__ import annotations

import pytest

from pipeline.fetch.config import FetchConfig, parse_resolve


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
    ],
)
def test_bad_value_is_refused_naming_the_field(field, value) -> None:
    with pytest.raises(ValueError, match=field):
        FetchConfig(**{field: value})


def test_defaults_are_valid_and_pins_are_lower_cased() -> None:
    cfg = FetchConfig(resolve={"News.Test": "127.0.0.1:8080"})
    assert cfg.resolve == {"news.test": "127.0.0.1:8080"}
    assert not cfg.allow_private and cfg.respect_robots


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
