"""Ray's token: made once (256 bits, mode 0600) for a local Ray, required for a cluster, never loose or replaced."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipeline.services.ray_token import (
    MODE_VARIABLE,
    TOKEN_PATH_VARIABLE,
    TOKEN_VARIABLE,
    RayTokenError,
    enable_ray_token,
)


@pytest.fixture(autouse=True)
def clean_ray_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No token in the environment and an empty home; whatever the test sets is undone after it."""
    for name in (MODE_VARIABLE, TOKEN_VARIABLE, TOKEN_PATH_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_local_ray_gets_a_new_private_token_in_rays_default_place(clean_ray_environment: Path) -> None:
    path = enable_ray_token(create=True)
    assert path == clean_ray_environment / ".ray" / "auth_token"
    token = path.read_text(encoding="ascii")
    assert len(token) == 64 and int(token, 16) >= 0  # 256 random bits, hex
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert os.environ[MODE_VARIABLE] == "token" and os.environ[TOKEN_PATH_VARIABLE] == str(path)


def test_an_existing_token_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "ray_token"
    path.parent.mkdir()
    path.write_text("the-users-own-token\n", encoding="ascii")
    path.chmod(0o600)
    assert enable_ray_token(path, create=True) == path
    assert path.read_text(encoding="ascii") == "the-users-own-token\n"
    assert enable_ray_token(path, create=False) == path


def test_the_environments_token_file_is_used_before_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clean_ray_environment: Path
) -> None:
    path = tmp_path / "mine"
    monkeypatch.setenv(TOKEN_PATH_VARIABLE, str(path))
    assert enable_ray_token(create=True) == path and mode(path) == 0o600
    assert not (clean_ray_environment / ".ray").exists()


def test_a_token_given_in_the_environment_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, "abc123")
    assert enable_ray_token(create=True) is None
    assert os.environ[TOKEN_VARIABLE] == "abc123" and os.environ[MODE_VARIABLE] == "token"


def test_a_configured_file_wins_over_a_token_left_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, "stale")
    path = enable_ray_token(tmp_path / "token", create=True)
    assert TOKEN_VARIABLE not in os.environ and os.environ[TOKEN_PATH_VARIABLE] == str(path)


def test_a_clusters_missing_token_is_an_error_that_says_where(tmp_path: Path) -> None:
    with pytest.raises(RayTokenError, match="no Ray token at .*services.ray.token_file"):
        enable_ray_token(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize("loose", [0o640, 0o604, 0o660])
def test_a_token_others_can_read_is_refused(tmp_path: Path, loose: int) -> None:
    path = tmp_path / "token"
    path.write_text("secret", encoding="ascii")
    path.chmod(loose)
    with pytest.raises(RayTokenError, match=f"mode {loose:04o}.*chmod 600"):
        enable_ray_token(path, create=True)


def test_an_empty_token_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.touch(mode=0o600)
    with pytest.raises(RayTokenError, match="empty"):
        enable_ray_token(path, create=False)
