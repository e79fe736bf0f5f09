"""Joining a Ray cluster: a head whose per-driver client server fails to start is asked again, anything else fails."""

from __future__ import annotations

import pytest
import ray

from training import run
from training.config import TrainConfig

# What Ray Client's proxy said when the server it started for a driver died at once (seen in CI, two forms).
NOT_STARTED = "Initialization failure from server:\nRuntimeError: Starting Ray client server failed."
ZOMBIE = (
    'Initialization failure from server:\n  File "proxier.py", line 396, in start_specific_server\n'
    "psutil.ZombieProcess: PID still exists but it's a zombie (pid=1828)"
)


@pytest.fixture
def head(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A cluster head that refuses the first joins with the errors queued in the list it returns."""
    refusals: list[str] = []

    def init(address: str, **kwargs: object) -> None:
        if refusals:
            raise ConnectionAbortedError(refusals.pop(0))

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(run.time, "sleep", lambda seconds: None)
    return refusals


@pytest.mark.parametrize("message", [NOT_STARTED, ZOMBIE])
def test_a_client_server_that_did_not_start_is_asked_again(head: list[str], message: str) -> None:
    head.extend([message, message])
    assert run._init_ray(TrainConfig(ray_address="ray://head.test:10001")) is True
    assert not head  # both refusals were met, the third join succeeded


def test_the_join_gives_up_after_its_attempts_and_names_the_address(head: list[str]) -> None:
    head.extend([ZOMBIE] * run.CLIENT_ATTEMPTS)
    with pytest.raises(ConnectionError, match=r"(?s)cannot join the Ray cluster at 'ray://head.test:10001'.*zombie"):
        run._init_ray(TrainConfig(ray_address="ray://head.test:10001"))


def test_another_refusal_fails_at_once(head: list[str]) -> None:
    head.extend(["Initialization failure from server:\nValueError: bad runtime_env", NOT_STARTED])
    with pytest.raises(ConnectionError, match="bad runtime_env"):
        run._init_ray(TrainConfig(ray_address="ray://head.test:10001"))
    assert head == [NOT_STARTED]  # not asked a second time
