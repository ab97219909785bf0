"""Learning API Gateway's rate from its answers: a pure controller of requests/second for one API.

API Gateway throttles each API per user with a token bucket (the documented default is 200 calls/s) and
refuses a call that finds the bucket empty with 429 APIGW.0308, without Retry-After. A refusal therefore
says "the bucket was empty when this request arrived"; between two such moments every token the gateway
made was granted, so the requests granted between two refusals, over the time between them, is the
gateway's rate. The controller settles just under that, then probes upward by `PROBE_PER_S` of its rate
per second while requests it paces get through, so a quota that grows is found again.

Pure: every method takes the time (the send time of the request it is told about) and never awaits.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PacingReport", "RateController", "busiest"]

# Settle this far under the rate measured (a refusal means we were at or above the gateway's rate).
MARGIN = 0.02
# Upward probe while paced requests get through: this share of the rate per second (about 2 s to cross
# the 2 % margin; then one refusal per few seconds of crawling, a fraction of a percent of the requests).
PROBE_PER_S = 0.01
# With no earlier refusal to measure from, the rate granted over the last WINDOW_S seconds.
WINDOW_S = 1.0
# A measure between refusals needs this long a span. It is an upper bound (one grant more, the span a
# send-time jitter shorter): from a short span the pace comes down to the limit from above, in steps that
# shrink as the span grows, and never undershoots it on a miscount.
MIN_SPAN_S = 0.05
JITTER_S = 0.005
# The estimate itself (what is remembered) once its span makes a few milliseconds of jitter a few percent.
TRUSTED_SPAN_S = 0.5
# A refusal older than this no longer bounds the rate (a quota shared with others may have moved).
HORIZON_S = 10.0
MIN_RATE = 0.5  # requests/second: a pace never stops a crawl
TRIM_AT = 4096  # send times kept before the first trim (then twice what the last trim kept)


@dataclass(frozen=True, slots=True)
class PacingReport:
    """What one API's pacing came to: grants, the mean rate granted and the rate learned."""

    granted: int
    rate_reached: float
    rate_learned: float | None


class RateController:
    """Requests/second for one API: unpaced (None) until a refusal or a remembered rate says otherwise."""

    def __init__(self, rate: float | None = None, *, ceiling: float = math.inf, probe: bool = True) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("a remembered rate must be > 0")
        self.ceiling = ceiling
        self.probe = probe  # off when the crawl keeps to a share of the quota: it never meets the limit
        self.rate = None if rate is None else min(rate, ceiling)
        # The rate settled at after a refusal (or remembered): what the next run should start from. The
        # probe above it is not confirmed (the bucket's burst may have paid for it) until a refusal measures.
        self.settled = self.rate
        self.granted = 0
        # Send times of recent requests and of recent refusals. The gateway sees requests about in the order
        # they were sent, so those sent before a refused one and not refused were granted, answered or not.
        self._sends: list[float] = []
        self._trim_at = TRIM_AT
        self._refusals: list[float] = []
        self._decided_at = -math.inf  # refusals of requests sent before the last decision are its echo
        self._first_sent: float | None = None
        self._last_sent = 0.0

    def on_sent(self, sent_at: float) -> None:
        """A request goes out at `sent_at`."""
        _add(self._sends, sent_at)
        if self._first_sent is None:
            self._first_sent = sent_at
        if len(self._sends) > self._trim_at:  # amortised: a crawl that is never refused keeps HORIZON_S
            self._forget(sent_at - HORIZON_S)
            self._trim_at = max(TRIM_AT, 2 * len(self._sends))

    def on_granted(self, sent_at: float, *, paced: bool) -> None:
        """A request sent at `sent_at` got through; `paced`: it had waited for its turn at this rate."""
        self.granted += 1
        self._last_sent = max(self._last_sent, sent_at)
        if paced and self.probe and self.rate is not None:
            # +PROBE_PER_S of the rate per second is +PROBE_PER_S per request sent at that rate.
            self.rate = min(self.ceiling, self.rate + PROBE_PER_S)

    def on_refused(self, sent_at: float, now: float) -> bool:
        """A request sent at `sent_at` was throttled (no Retry-After), answered at `now`; True when the
        rate went down. Refusals of requests sent before the last decision are its echo."""
        _add(self._refusals, sent_at)
        if sent_at < self._decided_at:
            return False
        measured, point = self._measure(sent_at)
        if measured <= 0:
            return False  # nothing got through: not pacing, a refusal (the caller backs off)
        target = max(MIN_RATE, measured * (1.0 - MARGIN))
        if self.rate is not None:
            target = min(target, self.rate)  # a refusal never speeds the crawl up
        changed = self.rate is None or target < self.rate
        self.rate = min(target, self.ceiling)
        # What to remember: the best estimate, not the bound the pace comes down from (a short crawl may
        # end before the pace has met the limit).
        if point is not None:
            self.settled = min(self.rate, max(MIN_RATE, point * (1.0 - MARGIN)))
        else:
            self.settled = self.rate
        self._decided_at = now
        self._forget(sent_at - HORIZON_S)  # older refusals no longer bound the rate: the quota may move
        return changed

    def _measure(self, sent_at: float) -> tuple[float, float | None]:
        """An upper bound of the requests granted per second, and the estimate itself when trusted.

        Between an earlier refusal and this one (the bucket empty at both) the grants over the span, one
        grant more and a jitter less time, bound the rate from above, and the longer the span the tighter;
        but if the quota shrank meanwhile (someone else took a share) only the spans since then know it.
        So: the tightest bound over refusals 50 ms, 100 ms, 200 ms, ... back. With no earlier refusal, the
        grants of the last WINDOW_S (which hold the bucket's initial burst, if any).
        """
        refusals, best, point = self._refusals, math.inf, None
        back = MIN_SPAN_S
        while (i := bisect_right(refusals, sent_at - back)) > 0:
            start = refusals[i - 1]
            span = sent_at - start
            granted = self._granted_between(start, sent_at)
            bound = (granted + 1) / (span - JITTER_S)
            if bound < best:
                best, point = bound, (granted / span if span >= TRUSTED_SPAN_S else None)
            back = 2 * span
        if best < math.inf:
            return best, point
        return self._granted_between(sent_at - WINDOW_S, sent_at) / WINDOW_S, None

    def _granted_between(self, start: float, end: float) -> int:
        """Requests sent in (start, end) and not refused."""
        sends = bisect_left(self._sends, end) - bisect_right(self._sends, start)
        refusals = bisect_left(self._refusals, end) - bisect_right(self._refusals, start)
        return sends - refusals

    def _forget(self, before: float) -> None:
        for times in (self._sends, self._refusals):
            del times[: bisect_left(times, before)]

    def report(self) -> PacingReport:
        """Grants, the mean rate granted (first send to last) and the rate settled at."""
        span = self._last_sent - (self._first_sent or 0.0)
        reached = self.granted / span if self.granted > 1 and span > 0 else 0.0
        return PacingReport(self.granted, reached, self.settled)


def _add(times: list[float], t: float) -> None:
    """Keep `times` sorted (appending in the usual case: times mostly come in order)."""
    if not times or t >= times[-1]:
        times.append(t)
    else:
        insort(times, t)


def busiest(reports: Mapping[str, PacingReport]) -> PacingReport | None:
    """The report of the API granted the most requests (the one whose rate bounds the crawl)."""
    return max(reports.values(), key=lambda r: r.granted, default=None)
