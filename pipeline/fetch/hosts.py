"""Per-host politeness: a concurrency limit, a delay between requests, and a circuit breaker."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


@dataclasses.dataclass
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0
    consecutive_failures: int = 0


class HostGate:
    """Lets requests to one host start no faster than its delay, and stops a host that keeps failing."""

    def __init__(self, per_host_concurrency: int, delay_s: float, breaker_failures: int) -> None:
        self._per_host = per_host_concurrency
        self._delay_s = delay_s
        self._breaker_failures = breaker_failures
        self._hosts: dict[str, _Host] = {}

    def _host(self, host: str) -> _Host:
        if host not in self._hosts:
            self._hosts[host] = _Host(asyncio.Semaphore(self._per_host))
        return self._hosts[host]

    def is_open(self, host: str) -> bool:
        """True once ``host`` failed ``breaker_failures`` times in a row: skip it for this run."""
        return self._host(host).consecutive_failures >= self._breaker_failures

    @asynccontextmanager
    async def slot(self, host: str, extra_delay_s: float = 0.0) -> AsyncIterator[None]:
        """Hold one of the host's slots, starting no sooner than its delay allows."""
        state = self._host(host)
        async with state.slots:
            now = time.monotonic()
            start = max(now, state.next_start)
            state.next_start = start + max(self._delay_s, extra_delay_s)
            if start > now:
                await asyncio.sleep(start - now)
            yield

    def record(self, host: str, reachable: bool) -> None:
        """Count a connection-level failure (or reset the count on any answer)."""
        state = self._host(host)
        state.consecutive_failures = 0 if reachable else state.consecutive_failures + 1
