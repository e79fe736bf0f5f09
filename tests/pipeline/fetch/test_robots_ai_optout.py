"""AI-training opt-outs: a robots.txt group naming an AI-training crawler binds webtext too, by default."""

from __future__ import annotations

import logging

import pytest

from pipeline.fetch.config import DEFAULT_AI_OPTOUT_AGENTS

# webtext's own group allows everything; GPTBot's and CCBot's (any case) do not.
NO_AI = (
    "User-agent: webtext-fetch\nAllow: /\n\n"
    "User-agent: GPTBot\nDisallow: /page/no-gpt\n\n"
    "User-agent: ccbot\nDisallow: /page/no-cc\n"
)


def pages(hostile, host: str, *names: str) -> list[str]:
    return [hostile.url(host, f"/page/{name}") for name in names]


def test_an_ai_crawlers_group_binds_webtext_even_where_its_own_group_allows_all(hostile, crawl) -> None:
    hostile.robots["no-ai.test"] = (200, NO_AI)
    no_gpt, no_cc, fine = pages(hostile, "no-ai.test", "no-gpt", "no-cc", "fine")
    result = crawl([no_gpt, no_cc, fine])
    assert result.outcomes() == {no_gpt: "robots_ai_optout", no_cc: "robots_ai_optout", fine: "ok"}
    assert [hit.path for hit in hostile.page_hits("no-ai.test")] == ["/page/fine"]
    assert result.summary.outcomes == {"robots_ai_optout": 2, "ok": 1}


def test_only_groups_naming_a_listed_crawler_are_ai_optouts(hostile, crawl) -> None:
    """``*`` and unlisted crawlers are no opt-out; where webtext's own rules refuse too, the page is disallowed."""
    hostile.robots["star.test"] = (
        200,
        "User-agent: *\nDisallow: /page/closed\n\nUser-agent: SomeSearchBot\nDisallow: /\n\n"
        "User-agent: ClaudeBot\nDisallow: /page/closed\nDisallow: /page/claude\n",
    )
    closed, claude, other = pages(hostile, "star.test", "closed", "claude", "other")
    result = crawl([closed, claude, other])
    assert result.outcomes() == {closed: "robots_disallowed", claude: "robots_ai_optout", other: "ok"}


@pytest.mark.parametrize("off", [{"respect_ai_optouts": False}, {"ai_optout_agents": ()}])
def test_turning_the_optouts_off_fetches_those_pages_and_warns(hostile, crawl, caplog, off) -> None:
    hostile.robots["ai-off.test"] = (200, NO_AI)
    urls = pages(hostile, "ai-off.test", "no-gpt", "no-cc")
    with caplog.at_level(logging.WARNING, logger="pipeline.fetch.http"):
        result = crawl(urls, out=f"off-{next(iter(off))}", **off)
    assert set(result.outcomes().values()) == {"ok"}
    assert "robots.txt AI-training opt-outs are NOT honoured" in caplog.text
    config = result.summary.config
    assert (config["respect_ai_optouts"], list(config["ai_optout_agents"])) == (
        off.get("respect_ai_optouts", True),
        list(off.get("ai_optout_agents", DEFAULT_AI_OPTOUT_AGENTS)),
    )


def test_the_crawlers_listed_are_a_setting(hostile, crawl) -> None:
    hostile.robots["own-list.test"] = (200, NO_AI + "\nUser-agent: SomeTrainerBot\nDisallow: /page/no-trainer\n")
    no_gpt, no_trainer = pages(hostile, "own-list.test", "no-gpt", "no-trainer")
    result = crawl([no_gpt, no_trainer], ai_optout_agents=("SomeTrainerBot",))
    assert result.outcomes() == {no_gpt: "ok", no_trainer: "robots_ai_optout"}
