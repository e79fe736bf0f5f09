from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.sample.generate import generate_sample, is_generated


def test_generation_is_deterministic(sample: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, manifest = sample
    again = generate_sample(tmp_path)
    assert again["files"] == manifest["files"]


def test_a_modified_sample_is_regenerated(tmp_path: Path) -> None:
    manifest = generate_sample(tmp_path)
    assert is_generated(tmp_path)
    page = tmp_path / next(name for name in manifest["files"] if name.endswith(".html"))
    page.write_text("tampered", encoding="utf-8")
    assert not is_generated(tmp_path)
    generate_sample(tmp_path)
    assert is_generated(tmp_path)


def test_site_description_is_consistent(sample: tuple[Path, dict[str, Any]]) -> None:
    directory, manifest = sample
    site = json.loads((directory / "web" / "site.json").read_text())
    hosts = site["hosts"]
    assert set(hosts) == set(manifest["resolve"])
    roles = set()
    for host, description in hosts.items():
        for path, route in description["routes"].items():
            roles.add(route["role"])
            assert path.startswith("/")
            if "file" in route:
                assert (directory / "web" / route["file"]).is_file(), (host, path)
            if "location" in route:
                target_host = route["location"].split("/")[2]
                assert target_host in hosts
    expected_roles = {
        "article",
        "foreign",
        "wikipedia",
        "spam",
        "thin",
        "exact_duplicate",
        "near_duplicate",
        "far_duplicate",
        "dead",
        "redirect",
        "redirect_loop",
        "robots_disallowed",
        "binary_as_html",
        "wrong_charset",
        "plain_text",
        "not_html",
    }
    assert expected_roles <= roles
    assert any(description["refuse"] for description in hosts.values())
    assert "Disallow: /private/" in hosts["news.webtext.test"]["robots_txt"]


def test_pages_carry_boilerplate_and_languages(sample: tuple[Path, dict[str, Any]]) -> None:
    directory, _ = sample
    news = next((directory / "web" / "news.webtext.test").rglob("*.html")).read_text()
    assert "cookie-consent" in news and "<nav" in news and 'id="comments"' in news and "<footer" in news
    languages = {page.parent.name for page in (directory / "web" / "world.webtext.test").rglob("*.html")}
    assert {"de", "fr", "es", "ja", "zh", "ru"} <= languages
    cp1252 = (directory / "web" / "world.webtext.test" / "fr" / "velo-cp1252.html").read_bytes()
    try:
        cp1252.decode("utf-8")
        raise AssertionError("the wrong-charset page must not be valid UTF-8")
    except UnicodeDecodeError:
        pass


def test_planted_expectations_cover_the_tricky_cases(sample: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = sample
    outcomes = manifest["expected"]["outcomes"]
    for outcome in (
        "self_post",
        "reddit_link",
        "blocked_domain",
        "nsfw",
        "out_of_window",
        "malformed_json",
        "bad_type",
        "missing_url",
        "not_http",
        "invalid_url",
        "blank_line",
        "blocklisted:sample",
    ):
        assert outcomes[outcome] >= 1, outcome
    assert manifest["expected"]["duplicate_submissions"] == 1


def test_the_sample_ships_its_blocklist_explained(sample: tuple[Path, dict[str, Any]]) -> None:
    directory, manifest = sample
    assert manifest["blocklists"] == ["blocklists/sample.txt"] and "blocklists/sample.txt" in manifest["files"]
    lines = (directory / "blocklists" / "sample.txt").read_text(encoding="utf-8").splitlines()
    entries = [line for line in lines if line.strip() and not line.startswith("#")]
    assert entries and all("#" in line for line in entries)  # every entry says why it is there
