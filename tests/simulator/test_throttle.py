"""API Gateway throttling (`--rate-limit`): the pure token bucket, then the simulator over HTTP."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

from pipeline.simulator.throttle import Throttle
from tests.simulator.conftest import MakeSimulator, get, sync_job_path

PAGE = sync_job_path("acme", "team/app", "filter=limit::5|offset::0")


@pytest.mark.parametrize(
    ("rate", "calls", "admitted"),
    [
        # (api, time in seconds) in order, and which are admitted.
        (2.0, [("a", 0.0), ("a", 0.0), ("a", 0.0)], [True, True, False]),  # a burst of `rate`, then none
        (2.0, [("a", 0.0), ("a", 0.0), ("a", 0.5), ("a", 0.5)], [True, True, True, False]),  # refills 2/s
        (2.0, [("a", 0.0), ("a", 0.0), ("b", 0.0), ("b", 0.0)], [True, True, True, True]),  # per API
        # Idle for long, the budget is still one second's worth.
        (2.0, [("a", 0.0), ("a", 0.0), ("a", 9.0), ("a", 9.0), ("a", 9.0)], [True, True, True, True, False]),
        # A refusal costs nothing.
        (2.0, [("a", 0.0), ("a", 0.0), ("a", 0.1), ("a", 0.5)], [True, True, False, True]),
        (0.5, [("a", 0.0), ("a", 1.0), ("a", 2.0)], [True, False, True]),  # under 1/s: one call every 2 s
        (0.0, [("a", 0.0)] * 5, [True] * 5),  # 0: no limit
    ],
)
def test_token_bucket(rate: float, calls: list[tuple[str, float]], admitted: list[bool]) -> None:
    throttle = Throttle(rate)
    assert [throttle.admit(api, now) for api, now in calls] == admitted


def test_reset_refills() -> None:
    throttle = Throttle(1.0)
    assert throttle.admit("a", 0.0) and not throttle.admit("a", 0.0)
    throttle.reset()
    assert throttle.admit("a", 0.0)


async def test_a_burst_beyond_the_limit_is_refused_with_429_apigw_0308_without_retry_after(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(rate_limit=10) as sim:
        answers = await asyncio.gather(*(get(http, sim.url, PAGE) for _ in range(30)))
        statuses = sorted(status for status, _, _ in answers)
        # One second's budget at once; the bucket may refill one call while the burst is served.
        assert statuses.count(200) in (10, 11) and set(statuses) == {200, 429}
        for status, headers, body in answers:
            if status == 429:
                assert orjson.loads(body)["error_code"] == "APIGW.0308"
                assert "Retry-After" not in headers
        stats = sim.stats()
        assert stats["rate_limited"] == statuses.count(429)
        assert stats["faults"] == {}
        # Another API has its own budget.
        status, _, _ = await get(http, sim.url, "/v2/manage/namespaces")
        assert status == 200
