"""AdaptiveLimiter: the bound on requests in flight, AIMD on 429, the shared pause, requests per second."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pipeline.limiter import AdaptiveLimiter


async def hold(limiter: AdaptiveLimiter, release: asyncio.Event, seen: list[int]) -> None:
    """Take a slot, note how many are held, keep it until ``release``."""
    async with limiter.slot():
        seen.append(limiter.in_flight)
        await release.wait()


async def holder_and_waiter(
    limiter: AdaptiveLimiter,
) -> tuple[asyncio.Event, asyncio.Task[None], asyncio.Task[None]]:
    """A task holding the only slot until the event is set, and a task queued behind it."""
    release, seen = asyncio.Event(), list[int]()
    holder = asyncio.create_task(hold(limiter, release, seen))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold(limiter, release, seen))
    await asyncio.sleep(0)
    return release, holder, waiter


async def test_never_more_in_flight_than_the_limit() -> None:
    limiter = AdaptiveLimiter(3)
    release, seen = asyncio.Event(), list[int]()
    tasks = [asyncio.create_task(hold(limiter, release, seen)) for _ in range(10)]
    await asyncio.sleep(0)  # let every task try (no time passes: the limiter never sleeps here)
    assert limiter.in_flight == 3
    release.set()
    await asyncio.gather(*tasks)
    assert max(seen) == 3 and limiter.peak_in_flight == 3 and limiter.in_flight == 0


async def test_a_429_halves_the_bound_once_per_window() -> None:
    limiter = AdaptiveLimiter(32, decrease_interval=60.0)
    limiter.on_throttle(None)
    assert limiter.limit == 16
    limiter.on_throttle(None)  # the same burst of 429s: one signal, not a collapse to 1
    assert limiter.limit == 16
    assert limiter.throttle_events == 2


async def test_repeated_throttling_stops_at_the_floor() -> None:
    limiter = AdaptiveLimiter(32, min_concurrency=2, decrease_interval=0.0)
    for _ in range(20):
        limiter.on_throttle(None)
    assert limiter.limit == 2


async def test_successes_recover_the_bound_additively() -> None:
    limiter = AdaptiveLimiter(8, decrease_interval=0.0)
    limiter.on_throttle(None)
    limiter.on_throttle(None)
    assert limiter.limit == 2
    limiter.on_success()
    assert limiter.limit == 2  # +1/limit per success: about one slot per window of `limit` successes
    steps = 0
    while limiter.limit < 8:
        limiter.on_success()
        steps += 1
    assert 15 <= steps <= 40  # 2→8 takes ~2+3+...+7 successes, not one
    for _ in range(100):
        limiter.on_success()
    assert limiter.limit == 8  # never above the configured bound


async def test_a_fewer_slots_bound_holds_back_new_requests() -> None:
    limiter = AdaptiveLimiter(4, decrease_interval=0.0)
    release, seen = asyncio.Event(), list[int]()
    first = [asyncio.create_task(hold(limiter, release, seen)) for _ in range(4)]
    await asyncio.sleep(0)
    limiter.on_throttle(None)
    limiter.on_throttle(None)
    assert limiter.limit == 1
    later = [asyncio.create_task(hold(limiter, release, seen)) for _ in range(3)]
    await asyncio.sleep(0)
    assert limiter.in_flight == 4  # the 4 already sent finish; none of the 3 new ones starts
    release.set()
    await asyncio.gather(*first, *later)
    assert seen[4:] == [1, 1, 1]  # then one at a time


async def test_retry_after_pauses_every_new_request() -> None:
    limiter = AdaptiveLimiter(8)
    loop = asyncio.get_running_loop()
    limiter.on_throttle(0.05)
    started = loop.time()
    async with limiter.slot():
        waited = loop.time() - started
    assert waited >= 0.045  # loop.time() granularity aside, never earlier than Retry-After


async def test_rate_limit_spaces_requests() -> None:
    limiter = AdaptiveLimiter(8, rate=200.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(6):
        async with limiter.slot():
            pass
    assert loop.time() - started >= 5 / 200.0 - 0.002


async def test_a_cancelled_waiter_gives_nothing_back_it_did_not_take() -> None:
    limiter = AdaptiveLimiter(1)
    release, holder, waiter = await holder_and_waiter(limiter)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await holder
    assert limiter.in_flight == 0
    async with limiter.slot():
        assert limiter.in_flight == 1


@pytest.mark.parametrize("kwargs", [{"max_concurrency": 0}, {"max_concurrency": 2, "rate": -1.0}])
def test_invalid_bounds_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        AdaptiveLimiter(**kwargs)  # type: ignore[arg-type]


async def test_a_waiter_cancelled_while_a_slot_is_released_loses_no_slot() -> None:
    # A repository's failed page cancels its other requests (some waiting here) while other repositories'
    # requests release slots in the same turn of the loop: the cancelled waiter must not be handed one.
    limiter = AdaptiveLimiter(1)
    release, holder, waiter = await holder_and_waiter(limiter)
    release.set()  # the holder releases first in the next turn...
    waiter.cancel()  # ...while the waiter's cancellation is still pending
    results = await asyncio.gather(holder, waiter, return_exceptions=True)
    assert results[0] is None and isinstance(results[1], asyncio.CancelledError)
    assert limiter.in_flight == 0
    async with limiter.slot():
        assert limiter.in_flight == 1


async def test_a_pause_extended_by_a_later_429_holds_back_requests_already_pausing() -> None:
    limiter = AdaptiveLimiter(8)
    loop = asyncio.get_running_loop()
    started = loop.time()
    limiter.on_throttle(0.02)

    async def request() -> float:
        async with limiter.slot():
            return loop.time() - started

    pending = asyncio.create_task(request())
    await asyncio.sleep(0.01)  # the request is sleeping out the first pause
    limiter.on_throttle(0.1)  # a second 429 with a longer Retry-After
    assert await pending >= 0.105


async def sent_times(limiter: AdaptiveLimiter, api: str, n: int) -> list[tuple[float, bool]]:
    """Take `n` slots of `api` at once; (send time, held back by the pace) of each."""

    async def one() -> tuple[float, bool]:
        async with limiter.slot(api) as ticket:
            limiter.on_sent(ticket)
            return ticket.sent_at, ticket.paced

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def test_a_learned_rate_paces_its_api_and_no_other() -> None:
    limiter = AdaptiveLimiter(8, learned={"ShowSyncJob": 400.0})
    jobs = await sent_times(limiter, "ShowSyncJob", 5)
    repos = await sent_times(limiter, "ListReposDetails", 5)
    # First come first served, the k-th never before its turn (a late timer may send two close together:
    # the gateway's bucket made the token the late one did not take).
    assert all(sent - jobs[0][0] >= k / 400 - 0.0005 for k, (sent, _) in enumerate(jobs))
    assert [paced for _, paced in jobs] == [False, True, True, True, True]
    assert not any(paced for _, paced in repos)  # the gateway throttles per API: another bucket


@pytest.mark.parametrize(
    ("kwargs", "interval"),
    [
        ({"learned": {"A": 400.0}}, 1 / 400),
        ({"learned": {"A": 400.0}, "share": 0.5}, 1 / 200),  # a share of the rate learned
        ({"rate": 100.0, "share": 0.5}, 1 / 50),  # ... or of the rate told
        ({"rate": 100.0, "learned": {"A": 400.0}}, 1 / 100),  # the rate told is a hard cap
        ({"rate": 100.0}, 0.0),  # at a share of 1 the global cap paces (test_rate_limit_spaces_requests)
        ({}, 0.0),  # nothing learned or told: unpaced
    ],
)
def test_the_pace_is_a_share_of_the_rate_learned_or_told(kwargs: dict[str, Any], interval: float) -> None:
    assert AdaptiveLimiter(8, **kwargs).gate("A").interval() == pytest.approx(interval)


async def test_a_429_without_retry_after_paces_the_api_without_pausing_or_halving() -> None:
    limiter = AdaptiveLimiter(8)
    for _ in range(50):
        async with limiter.slot("A") as ticket:
            limiter.on_sent(ticket)
        limiter.on_success(ticket)
    async with limiter.slot("A") as refused:
        limiter.on_sent(refused)
    assert limiter.on_refused(refused)
    assert limiter.gate("A").interval() > 0 and limiter.gate("B").interval() == 0.0
    assert limiter.limit == 8
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with limiter.slot("B"):
        assert loop.time() - started < 0.05  # no pause of the crawl


async def test_a_cancelled_request_waiting_for_its_turn_holds_no_one_up() -> None:
    limiter = AdaptiveLimiter(8, learned={"A": 50.0})
    await sent_times(limiter, "A", 1)
    doomed = asyncio.create_task(sent_times(limiter, "A", 1))
    await asyncio.sleep(0)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    ((_, paced),) = await sent_times(limiter, "A", 1)
    assert paced and limiter.in_flight == 0
