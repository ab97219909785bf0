"""One shared gate for every request of a run: a bound on requests in flight that halves on 429 and recovers
additively (AIMD), a pause of the whole crawl for a 429's Retry-After, and an optional requests/second cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class AdaptiveLimiter:
    """Bounds requests in flight; a throttled API sees fewer requests, never a retry storm."""

    def __init__(
        self,
        max_concurrency: int,
        *,
        rate: float = 0.0,
        min_concurrency: int = 1,
        decrease_interval: float = 0.05,
    ) -> None:
        if max_concurrency < 1 or rate < 0 or decrease_interval < 0:
            raise ValueError("max_concurrency must be >= 1, rate and decrease_interval >= 0")
        self.max_concurrency = max_concurrency
        self.min_concurrency = max(1, min(min_concurrency, max_concurrency))
        # 429s answered together are one signal: halve once per interval (or per Retry-After), not per 429.
        self.decrease_interval = decrease_interval
        self._limit = float(max_concurrency)
        self._rate = rate
        self._next_slot = 0.0
        self._pause_until = 0.0
        self._last_decrease = 0.0
        self._in_flight = 0
        self._cond = asyncio.Condition()
        self.peak_in_flight = 0
        self.throttle_events = 0

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        return max(self.min_concurrency, int(self._limit))

    @property
    def in_flight(self) -> int:
        """Requests holding a slot now."""
        return self._in_flight

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one request slot for the duration of the block."""
        await self._acquire()
        try:
            yield
        finally:
            await self._release()

    async def _acquire(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._cond:
            while True:
                wait = self._pause_until - loop.time()
                if wait > 0:
                    self._cond.release()
                    try:
                        await asyncio.sleep(wait)
                    finally:
                        await self._cond.acquire()
                    continue
                if self._in_flight < self.limit:
                    break
                await self._cond.wait()
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            if self._rate > 0:
                now = loop.time()
                start = max(now, self._next_slot)
                self._next_slot = start + 1.0 / self._rate
                delay = start - now
            else:
                delay = 0.0
        if delay > 0:
            await asyncio.sleep(delay)

    async def _release(self) -> None:
        async with self._cond:
            self._in_flight -= 1
            self._cond.notify()

    def on_success(self) -> None:
        """Additive increase: about +1 slot per window of `limit` successful requests."""
        if self._limit < self.max_concurrency:
            self._limit = min(float(self.max_concurrency), self._limit + 1.0 / max(self._limit, 1.0))

    def on_throttle(self, retry_after: float | None) -> None:
        """A 429: pause every new request for Retry-After and halve the bound (once per pause window)."""
        now = asyncio.get_running_loop().time()
        self.throttle_events += 1
        if retry_after and retry_after > 0:
            self._pause_until = max(self._pause_until, now + retry_after)
        if now >= self._last_decrease:
            self._limit = max(float(self.min_concurrency), self._limit / 2.0)
            self._last_decrease = now + max(retry_after or 0.0, self.decrease_interval)
