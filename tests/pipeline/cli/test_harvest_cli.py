from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.sample.reddit import ndjson_lines, pushshift_submission, write_dump
from pipeline.shards import complete_shards


def malformed_lines(count: int, rng: random.Random) -> list[str | bytes]:
    """Every kind of broken line a scraped dump has, mixed at random."""
    good = json.dumps(
        pushshift_submission(id="ok1", url="https://a.test/x", score=5, created_utc=1546300800, subreddit="news")
    )
    makers = [
        lambda: good[: rng.randrange(1, len(good) - 1)],  # truncated
        lambda: "".join(rng.choice('{}[]:,"abc123') for _ in range(rng.randrange(1, 80))),
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))).replace(b"\n", b" "),
        lambda: json.dumps({"id": rng.randrange(10**6), "url": "https://a.test/"}),
        lambda: json.dumps({"id": "x", "score": "high", "created_utc": 1, "url": "https://a.test/"}),
        lambda: json.dumps([1, 2, 3]),
        lambda: "",
        lambda: "null",
    ]
    return [rng.choice(makers)() for _ in range(count)]


def test_harvest_survives_a_dump_full_of_malformed_lines(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lines = malformed_lines(5000, random.Random(7))
    dump = write_dump(tmp_path / "RS_garbage.zst", ndjson_lines(lines))
    status = main(["harvest", str(dump), "--out", str(tmp_path / "urls"), "--quiet"])
    assert status == 0
    summary = json.loads((tmp_path / "urls" / "summary.json").read_text())
    assert summary["counts"]["lines"] == 5000 and sum(summary["outcomes"].values()) == 5000
    assert summary["outcomes"].get("kept", 0) == 0 and summary["counts"]["urls_kept"] == 0
    assert "malformed_json" in capsys.readouterr().out


def test_harvest_sample_prints_counts(sample_dumps: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = [
        "harvest",
        *map(str, sample_dumps),
        "--out",
        str(tmp_path),
        "--after",
        "2019-01-01",
        "--before",
        "2019-03-01",
        "--buckets",
        "2",
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "53 URLs kept with karma >= 3" in out and "self_post" in out
    assert len(complete_shards(tmp_path)) == 2


def test_block_domain_and_min_karma_flags(sample_dumps: list[Path], tmp_path: Path) -> None:
    argv = [
        "harvest",
        *map(str, sample_dumps),
        "--out",
        str(tmp_path),
        "--block-domain",
        "spam.webtext.test",
        "--min-karma",
        "5",
        "--quiet",
    ]
    assert main(argv) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["outcomes"]["blocked_domain"] > 5
    assert summary["config"]["min_karma"] == 5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--after", "2019-02-30"], "after"),
        (["--buckets", "0"], "n_buckets"),
        (["--after", "2019-03-01", "--before", "2019-01-01"], "earlier"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    sample_dumps: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str], message: str
) -> None:
    assert main(["harvest", str(sample_dumps[0]), "--out", str(tmp_path), *extra]) == 2
    error = capsys.readouterr().err
    assert error.startswith("webtext harvest: error:") and message in error


def test_missing_dump_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["harvest", str(tmp_path / "RS_nope.zst"), "--out", str(tmp_path / "out")]) == 2
    assert "RS_nope.zst" in capsys.readouterr().err


def test_corrupt_dump_is_named_and_can_be_skipped(
    sample_dumps: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    broken = tmp_path / "RS_cut.bz2"
    broken.write_bytes(sample_dumps[1].read_bytes()[:500])
    assert main(["harvest", str(broken), "--out", str(tmp_path / "a"), "--quiet"]) == 2
    assert "RS_cut.bz2" in capsys.readouterr().err
    assert main(["harvest", str(broken), "--out", str(tmp_path / "b"), "--quiet", "--skip-corrupt"]) == 0
    assert "CORRUPT" in capsys.readouterr().out


def test_reddit_api_without_credentials_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDDIT_CLIENT_ID", raising=False)
    monkeypatch.delenv("REDDIT_CLIENT_SECRET", raising=False)
    argv = [
        "harvest",
        "--reddit-api",
        "--api-base",
        "http://127.0.0.1:9",
        "--auth-url",
        "http://127.0.0.1:9/t",
        "--allow-private",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 2
    assert "REDDIT_CLIENT_ID" in capsys.readouterr().err


def test_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("webtext")
    result = subprocess.run([str(script), "sample", "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "9 hosts" in result.stdout and (tmp_path / "manifest.json").exists()
    usage = subprocess.run([str(script), "harvest", "--help"], capture_output=True, text=True)
    assert "--min-karma" in usage.stdout and "--allow-nsfw" in usage.stdout
