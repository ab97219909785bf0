"""RateController: settling just under the rate granted, probing upward, a crawl against a token bucket."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import pytest

from pipeline.pacing import MARGIN, PROBE_PER_S, PacingReport, RateController, busiest
from pipeline.simulator.throttle import Throttle


def granted_at(controller: RateController, start: float, end: float, rate: float) -> float:
    """Grants sent at `rate` per second from `start` (included) to `end` (excluded); the last send time."""
    t = start
    while t < end - 1e-9:
        controller.on_sent(t)
        controller.on_granted(t, paced=False)
        t += 1.0 / rate
    return t


def refuse(controller: RateController, sent_at: float, now: float) -> bool:
    """A request sent at `sent_at` comes back 429 at `now`; whether the rate changed."""
    controller.on_sent(sent_at)
    return controller.on_refused(sent_at, now)


def test_unpaced_until_the_gateway_refuses() -> None:
    controller = RateController()
    granted_at(controller, 0.0, 2.0, 500.0)
    assert controller.rate is None and controller.report().rate_learned is None


def test_a_first_refusal_settles_just_under_the_rate_granted_over_the_last_second() -> None:
    controller = RateController()
    granted_at(controller, 0.0, 3.0, 100.0)
    assert refuse(controller, 3.0, now=3.01)
    assert controller.rate == pytest.approx(100 * (1 - MARGIN), rel=0.02)


def test_between_two_refusals_the_grants_measure_the_gateways_rate() -> None:
    # The bucket's initial burst inflates the first measure (the last second holds 300 grants); between
    # two refusals (the bucket empty at both) only what the gateway made since counts: 50/s.
    controller = RateController()
    granted_at(controller, 0.0, 0.2, 1500.0)
    assert refuse(controller, 0.2, now=0.21)
    first = controller.rate
    assert first is not None and first > 200
    granted_at(controller, 0.21, 1.2, 50.0)
    assert refuse(controller, 1.2, now=1.21)
    assert controller.rate == pytest.approx(50 * (1 - MARGIN), rel=0.03)


def test_from_a_short_span_the_pace_comes_down_from_above_but_the_estimate_is_remembered() -> None:
    controller = RateController(500.0)
    granted_at(controller, 0.0, 1.0, 500.0)
    refuse(controller, 1.0, now=1.0)  # the bucket ran dry: the anchor
    granted_at(controller, 1.001, 1.1, 100.0)  # the gateway makes 100 tokens a second
    assert refuse(controller, 1.1, now=1.1)
    assert controller.rate is not None and controller.rate > 100.0  # an upper bound: never below the limit
    assert controller.report().rate_learned == controller.rate  # 0.1 s: too short to trust the estimate
    granted_at(controller, 1.101, 1.7, 100.0)
    assert refuse(controller, 1.7, now=1.7)
    assert controller.rate > 100.0
    assert controller.report().rate_learned == pytest.approx(100 * (1 - MARGIN), rel=0.01)


@pytest.mark.parametrize(
    ("sent_at", "changes"),
    [
        (1.005, False),  # sent before the decision at 1.01: the echo of the same empty bucket
        (1.02, True),  # sent after it: the new rate is still too high
    ],
)
def test_refusals_of_requests_sent_before_a_decision_are_its_echo(sent_at: float, changes: bool) -> None:
    controller = RateController()
    granted_at(controller, 0.0, 1.0, 100.0)
    assert refuse(controller, 1.0, now=1.01)
    assert refuse(controller, sent_at, now=1.03) is changes


def test_a_refusal_when_nothing_got_through_is_not_a_rate() -> None:
    controller = RateController()
    assert not refuse(controller, 0.0, now=0.01)
    assert controller.rate is None


def test_a_refusal_never_raises_the_rate() -> None:
    controller = RateController(50.0)
    granted_at(controller, 0.0, 1.0, 100.0)  # the bucket's burst: more granted than the pace
    assert not refuse(controller, 1.0, now=1.01)
    assert controller.rate == 50.0


@pytest.mark.parametrize(
    ("probe", "paced", "ceiling", "expected"),
    [
        (True, True, math.inf, 100.0 + 200 * PROBE_PER_S),  # +PROBE_PER_S of the rate per second at it
        (True, True, 101.0, 101.0),  # never above the rate told (http.rate_limit)
        (True, False, math.inf, 100.0),  # not held back by the pace: nothing was tried above it
        (False, True, math.inf, 100.0),  # keeping to a share of the quota: no probe
    ],
)
def test_probing_upward_while_paced_requests_get_through(
    probe: bool, paced: bool, ceiling: float, expected: float
) -> None:
    controller = RateController(100.0, ceiling=ceiling, probe=probe)
    for i in range(200):
        controller.on_sent(i / 100.0)
        controller.on_granted(i / 100.0, paced=paced)
    assert controller.rate == pytest.approx(expected)
    assert controller.report().rate_learned == min(100.0, ceiling)  # a probe is not learned until measured


def test_an_old_refusal_no_longer_anchors_a_measure() -> None:
    controller = RateController()
    granted_at(controller, 0.0, 1.0, 100.0)
    refuse(controller, 1.0, now=1.0)
    granted_at(controller, 1.0, 30.0, 40.0)  # the quota shrank long after that refusal
    refuse(controller, 30.0, now=30.0)
    assert controller.rate == pytest.approx(40 * (1 - MARGIN), rel=0.05)


def test_report_and_busiest() -> None:
    jobs, repos = RateController(), RateController()
    granted_at(jobs, 0.0, 2.0, 100.0)
    granted_at(repos, 0.0, 0.01, 100.0)
    report = jobs.report()
    assert report.granted == 200 and report.rate_reached == pytest.approx(100.0, rel=0.01)
    assert busiest({"ShowSyncJob": report, "ListReposDetails": repos.report()}) is report
    assert busiest({}) is None


def test_a_remembered_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="> 0"):
        RateController(0.0)


SEND_S = 1e-5


@dataclass(frozen=True)
class Modelled:
    """A crawl against a token bucket: what it sent, what came back, where its pace ended."""

    sent: list[tuple[float, bool]]  # (send time, granted)
    report: PacingReport
    seconds: float

    def refused_after(self, start: float) -> float:
        """Share of the requests sent after `start` that were refused."""
        later = [ok for t, ok in self.sent if t >= start]
        return later.count(False) / len(later)

    def granted_per_s_after(self, start: float) -> float:
        return sum(1 for t, ok in self.sent if t >= start and ok) / (self.seconds - start)


def crawl_model(
    limit: float,
    seconds: float,
    *,
    remembered: float | None = None,
    share: float = 1.0,
    latency: float = 0.02,
    in_flight: int = 32,
    limit_changes: tuple[tuple[float, float], ...] = (),
) -> Modelled:
    """A crawl of endless work through the controller against the simulator's token bucket (pure)."""
    bucket, controller = Throttle(limit), RateController(remembered, probe=share >= 1)
    changes = dict(limit_changes)
    answers: list[tuple[float, float, bool]] = []  # (answer time, send time, granted)
    sent: list[tuple[float, bool]] = []
    now, last = 0.0, -math.inf
    while now < seconds:
        for at in [at for at in changes if at <= now]:
            bucket.rate = changes.pop(at)  # another tool takes or leaves a share of the quota
        while answers and answers[0][0] <= now:
            answered, sent_at, ok = heapq.heappop(answers)
            if ok:
                controller.on_granted(sent_at, paced=controller.rate is not None)
            else:
                controller.on_refused(sent_at, answered)
        interval = 0.0 if controller.rate is None else 1.0 / (controller.rate * share)
        if len(answers) < in_flight and now >= last + interval:
            ok = bucket.admit("ShowSyncJob", now + latency / 2)
            controller.on_sent(now)
            heapq.heappush(answers, (now + latency, now, ok))
            sent.append((now, ok))
            last = now
            now += SEND_S  # sending takes a little time: no two requests leave at once
            continue
        next_send = last + interval if len(answers) < in_flight else math.inf
        now = max(now, min(answers[0][0] if answers else math.inf, next_send))
    return Modelled(sent, controller.report(), seconds)


@pytest.mark.parametrize("limit", [50.0, 100.0, 200.0, 1000.0])
def test_against_a_token_bucket_the_crawl_runs_at_its_rate_with_few_refusals(limit: float) -> None:
    crawl = crawl_model(limit, 30.0)
    # Once found (the requests in flight when the bucket first ran dry are refused), the limit is used at
    # >= 97% with under 1% of the requests refused, and the rate settled at is just under it.
    assert crawl.granted_per_s_after(3.0) >= 0.97 * limit
    assert crawl.refused_after(3.0) <= 0.01
    assert crawl.report.rate_learned is not None
    assert 0.95 * limit <= crawl.report.rate_learned <= limit


@pytest.mark.parametrize("limit", [50.0, 200.0])
def test_starting_from_the_remembered_rate_meets_no_refusal_at_first(limit: float) -> None:
    crawl = crawl_model(limit, 5.0, remembered=0.98 * limit)
    assert crawl.refused_after(0.0) == 0.0
    assert crawl.granted_per_s_after(0.0) >= 0.97 * limit


def test_a_share_of_the_quota_runs_at_that_share_and_is_never_refused() -> None:
    crawl = crawl_model(100.0, 20.0, remembered=98.0, share=0.5)
    assert crawl.refused_after(0.0) == 0.0
    assert crawl.granted_per_s_after(0.0) == pytest.approx(49.0, rel=0.02)


def test_a_quota_that_shrinks_is_followed_within_a_second() -> None:
    crawl = crawl_model(200.0, 20.0, limit_changes=((5.0, 100.0),))
    assert crawl.report.rate_learned is not None and 95.0 <= crawl.report.rate_learned <= 100.0
    shrunk = [ok for t, ok in crawl.sent if t >= 6.0]
    assert shrunk.count(False) <= 0.01 * len(shrunk)


def test_a_quota_that_grows_is_found_again_by_the_probe() -> None:
    crawl = crawl_model(100.0, 60.0, limit_changes=((10.0, 120.0),))
    assert crawl.granted_per_s_after(40.0) >= 0.95 * 120.0
    assert crawl.refused_after(10.0) <= 0.01
