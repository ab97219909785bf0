"""One shared gate for every request of a run: a bound on requests in flight that halves on 429 and recovers
additively (AIMD), a pause of the whole crawl after a 429, and an optional requests/second cap."""

from __future__ import annotations

import asyncio
from collections import deque
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
        self._waiters: deque[asyncio.Future[None]] = deque()
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
            self._release()

    async def _acquire(self) -> None:
        # Hot path (thousands of requests a second): a free slot is taken without any lock or future.
        loop = asyncio.get_running_loop()
        if self._in_flight < self.limit and not self._waiters:
            self._in_flight += 1
        else:
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            try:
                await fut  # resolved by a release that hands its slot over (in_flight stays counted)
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._release()  # the slot was handed over just before the cancel: pass it on
                elif fut in self._waiters:  # a release may already have skipped (and dropped) it
                    self._waiters.remove(fut)
                raise
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            await self._wait_for_turn(loop)
        except asyncio.CancelledError:
            self._release()
            raise

    async def _wait_for_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        # A 429 answered while we sleep may extend the pause: sleep until the latest one has ended.
        # (ASYNC110: the pause ends at a time that may move later, not on an event anyone sets.)
        while (delay := self._pause_until - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)  # a 429's pause, holding the slot
        if self._rate > 0:
            now = loop.time()
            start = max(now, self._next_slot)
            self._next_slot = start + 1.0 / self._rate
            if start > now:
                await asyncio.sleep(start - now)  # the rate cap

    def _release(self) -> None:
        """Give the slot back, or hand it straight to the longest waiter while under the bound."""
        if self._in_flight > self.limit or not self._hand_over():
            self._in_flight -= 1
        self._wake_up_to_limit()

    def _hand_over(self) -> bool:
        """Resolve the longest waiter still waiting; a cancelled one (its task not yet run) is dropped."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return True
        return False

    def _wake_up_to_limit(self) -> None:
        while self._waiters and self._in_flight < self.limit:
            self._in_flight += 1
            if not self._hand_over():
                self._in_flight -= 1

    def on_success(self) -> None:
        """Additive increase: about +1 slot per window of `limit` successful requests."""
        if self._limit < self.max_concurrency:
            self._limit = min(float(self.max_concurrency), self._limit + 1.0 / max(self._limit, 1.0))
            self._wake_up_to_limit()

    def on_throttle(self, retry_after: float | None) -> None:
        """A 429: pause every new request for `retry_after` s and halve the bound (once per pause window)."""
        now = asyncio.get_running_loop().time()
        self.throttle_events += 1
        if retry_after and retry_after > 0:
            self._pause_until = max(self._pause_until, now + retry_after)
        if now >= self._last_decrease:
            self._limit = max(float(self.min_concurrency), self._limit / 2.0)
            self._last_decrease = now + max(retry_after or 0.0, self.decrease_interval)
