from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.sample.server import serve_sample_web


@pytest.fixture(scope="module")
def harvested(sample: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory, manifest = sample
    out = tmp_path_factory.mktemp("urls")
    dumps = [str(directory / name) for name in manifest["dumps"]]
    assert (
        main(["harvest", *dumps, "--out", str(out), "--after", "2019-01-01", "--before", "2019-03-01", "--quiet"]) == 0
    )
    return out


def test_fetch_crawls_the_sample_web_over_loopback(
    sample: tuple[Path, dict[str, Any]], harvested: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    directory, manifest = sample
    with serve_sample_web(directory / "web") as web:
        pins = [f"--resolve={host}={pin}" for host, pin in web.resolve.items()]
        argv = ["fetch", str(harvested), "--out", str(tmp_path), "--resolve-only", "--delay", "0", "--retries", "0"]
        assert main([*argv, *pins, "--quiet"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    expected: dict[str, int] = {}
    for outcome in manifest["expected"]["fetch"].values():
        expected[outcome] = expected.get(outcome, 0) + 1
    assert summary["outcomes"] == expected
    assert "robots_disallowed" in capsys.readouterr().out


def test_fetch_replays_an_archive_without_the_network(
    sample: tuple[Path, dict[str, Any]], harvested: Path, tmp_path: Path
) -> None:
    directory, _ = sample
    live = tmp_path / "live"
    with serve_sample_web(directory / "web") as web:
        pins = [f"--resolve={host}={pin}" for host, pin in web.resolve.items()]
        assert (
            main(["fetch", str(harvested), "--out", str(live), "--resolve-only", "--delay", "0", *pins, "--quiet"]) == 0
        )
    warcs = sorted(str(path) for path in (live / "warc").glob("*.warc.gz"))
    assert main(["fetch", str(harvested), "--out", str(tmp_path / "replayed"), "--replay", *warcs, "--quiet"]) == 0
    replayed = json.loads((tmp_path / "replayed" / "summary.json").read_text())["outcomes"]
    assert replayed["ok"] == json.loads((live / "summary.json").read_text())["outcomes"]["ok"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--resolve", "news.webtext.test"], "--resolve"),
        (["--resolve", "news.webtext.test=999.0.0.1"], "HOST=IP"),
        (["--concurrency", "0"], "concurrency"),
    ],
)
def test_bad_fetch_arguments_are_named(
    harvested: Path, tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    assert main(["fetch", str(harvested), "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_urls_dir_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["fetch", str(tmp_path / "no-urls"), "--out", str(tmp_path / "out")]) == 2
    assert "no-urls" in capsys.readouterr().err
