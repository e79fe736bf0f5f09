"""One answer per origin (robots.txt, tdmrep.json), loaded once, shared by concurrent requests, loaded again
when it expires or when its load failed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar
from urllib.parse import urlsplit


class Expiring(Protocol):
    @property
    def expires_at(self) -> float: ...


Answer = TypeVar("Answer", bound=Expiring)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class OriginCache(Generic[Answer]):
    """``load(origin)`` once per origin; requests to a new (or expired) origin wait on one shared load.

    A load that raised is not kept: the next request to that origin loads again.
    """

    def __init__(self, load: Callable[[str], Awaitable[Answer]], clock: Callable[[], float]) -> None:
        self._load = load
        self._clock = clock
        self._origins: dict[str, asyncio.Task[Answer]] = {}

    async def get(self, url: str) -> Answer:
        key = origin(url)
        task = self._origins.get(key)
        if task is None or self._spent(task):
            task = self._origins[key] = asyncio.ensure_future(self._load(key))
        return await asyncio.shield(task)

    def _spent(self, task: asyncio.Task[Answer]) -> bool:
        """A load to redo: it failed (the origin was unreachable) or its answer has expired."""
        if not task.done():
            return False
        if task.cancelled() or task.exception() is not None:
            return True
        return self._clock() >= task.result().expires_at
