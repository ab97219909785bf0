"""One shared gate for every request of a run: a bound on requests in flight that halves on 429 and recovers
additively (AIMD), a pause of the whole crawl after a 429, an optional requests/second cap, and per API a
pace learned from the gateway's throttling (pipeline.pacing decides the rate; this module keeps it)."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pipeline.logs import get_logger
from pipeline.pacing import PacingReport, RateController

log = get_logger(__name__)

# uvloop's timers count whole milliseconds and may fire a little early: close enough is the turn.
TIMER_SLACK_S = 0.0005


@dataclass(slots=True)
class Ticket:
    """One request's passage through the limiter: its API, when it went, and whether the pace held it."""

    api: str
    sent_at: float = 0.0
    paced: bool = False


class PaceGate:
    """Spaces one API's requests at its controller's rate times the quota share, first come first served."""

    def __init__(self, controller: RateController, share: float) -> None:
        self.controller = controller
        self.share = share
        self._last = -math.inf  # when the last request was let through
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def interval(self) -> float:
        """Seconds between two requests now (0: unpaced)."""
        rate = self.controller.rate
        return 0.0 if rate is None else 1.0 / (rate * self.share)

    async def turn(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Wait for this request's turn; True when it had to wait (the pace held the crawl back)."""
        interval = self.interval()
        if not self._waiters:
            if interval == 0.0:
                return False  # unpaced: the hot path of a crawl that never met a limit
            now = loop.time()
            if now >= self._last + interval:
                self._last = now
                return False
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append(fut)
        if self._timer is None:
            self._timer = loop.call_at(self._last + interval, self._release, loop)
        try:
            await fut
        except asyncio.CancelledError:
            if fut in self._waiters:
                self._waiters.remove(fut)
            raise
        return True

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let the longest waiter go once its turn has come (the rate may have dropped since scheduling)."""
        self._timer = None
        interval = self.interval()
        now, due = loop.time(), self._last + interval
        if now < due - TIMER_SLACK_S:
            self._timer = loop.call_at(due, self._release, loop)
            return
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                # A timer that fired late does not cost the crawl its turn (at most one interval caught up).
                self._last = max(due, now - interval)
                break
        if self._waiters:
            self._timer = loop.call_at(self._last + interval, self._release, loop)


class AdaptiveLimiter:
    """Bounds requests in flight; a throttled API sees fewer requests, never a retry storm."""

    def __init__(
        self,
        max_concurrency: int,
        *,
        rate: float = 0.0,
        min_concurrency: int = 1,
        decrease_interval: float = 0.05,
        share: float = 1.0,
        learned: Mapping[str, float] | None = None,
    ) -> None:
        if max_concurrency < 1 or rate < 0 or decrease_interval < 0:
            raise ValueError("max_concurrency must be >= 1, rate and decrease_interval >= 0")
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
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
        # The gateway throttles per API: each has its own pace, started from the rate remembered for it.
        self._share = share
        self._learned = dict(learned or {})
        self._gates: dict[str, PaceGate] = {}

    def gate(self, api: str) -> PaceGate:
        """The pace of one API (created on first use)."""
        gate = self._gates.get(api)
        if gate is None:
            # The crawl's ceiling is the rate it was told (http.rate_limit), which is also the global cap.
            ceiling = self._rate if self._rate > 0 else math.inf
            # Below a share of the quota the crawl never meets the limit, so probing upward would only
            # walk it past its share: the pace stays at the share of what was learned.
            controller = RateController(self._learned.get(api), ceiling=ceiling, probe=self._share >= 1)
            if controller.rate is None and ceiling < math.inf and self._share < 1:
                controller.rate = ceiling  # a share of the rate told (not learned: nothing to remember)
            gate = self._gates[api] = PaceGate(controller, self._share)
        return gate

    def pacing(self) -> dict[str, PacingReport]:
        """What each API's pace came to."""
        return {api: gate.controller.report() for api, gate in self._gates.items()}

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        return max(self.min_concurrency, int(self._limit))

    @property
    def in_flight(self) -> int:
        """Requests holding a slot now."""
        return self._in_flight

    @asynccontextmanager
    async def slot(self, api: str = "") -> AsyncIterator[Ticket]:
        """Hold one request slot (of a call of `api`) for the duration of the block."""
        ticket = Ticket(api)
        await self._acquire(ticket)
        try:
            yield ticket
        finally:
            self._release()

    async def _acquire(self, ticket: Ticket) -> None:
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
            gate = self.gate(ticket.api)
            ticket.paced = await gate.turn(loop)
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

    def on_sent(self, ticket: Ticket) -> None:
        """The request goes out now: its send time, for its API's pace."""
        ticket.sent_at = asyncio.get_running_loop().time()
        self.gate(ticket.api).controller.on_sent(ticket.sent_at)

    def on_granted(self, ticket: Ticket) -> None:
        """The gateway let this request through (whatever SWR answered): its API's pace counts it."""
        self.gate(ticket.api).controller.on_granted(ticket.sent_at, paced=ticket.paced)

    def on_success(self, ticket: Ticket | None = None) -> None:
        """Additive increase: about +1 slot per window of `limit` successful requests (a grant, too)."""
        if ticket is not None:
            self.on_granted(ticket)
        if self._limit < self.max_concurrency:
            self._limit = min(float(self.max_concurrency), self._limit + 1.0 / max(self._limit, 1.0))
            self._wake_up_to_limit()

    def on_refused(self, ticket: Ticket) -> bool:
        """A 429 without Retry-After for this request: its API's pace settles just under the rate granted.
        False when nothing was granted to measure (a refusal, not pacing)."""
        now = asyncio.get_running_loop().time()
        controller = self.gate(ticket.api).controller
        if not controller.on_refused(ticket.sent_at, now):
            return False
        log.info("pace_settled", api=ticket.api, rate=round(controller.rate or 0.0, 1))
        return True

    def on_throttle(self, retry_after: float | None) -> None:
        """A 429: pause every new request for `retry_after` s and halve the bound (once per pause window)."""
        now = asyncio.get_running_loop().time()
        self.throttle_events += 1
        if retry_after and retry_after > 0:
            self._pause_until = max(self._pause_until, now + retry_after)
        if now >= self._last_decrease:
            self._limit = max(float(self.min_concurrency), self._limit / 2.0)
            self._last_decrease = now + max(retry_after or 0.0, self.decrease_interval)
