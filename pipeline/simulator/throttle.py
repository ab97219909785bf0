"""API Gateway's throttling: a calls-per-second budget per API per user (the documented default is 200).

A token bucket per API (ShowSyncJob, ListReposDetails, ListNamespaces): it holds up to one second of calls
(at least one call) and refills continuously; a call that finds it empty is refused with 429 APIGW.0308.
The simulator has one user (every credential it accepts is that user's), so the bucket is per API. Pure:
time is passed in.
"""

from __future__ import annotations


class Throttle:
    """Admits at most `rate` calls per second per API, with bursts of up to `rate` calls."""

    def __init__(self, rate: float) -> None:
        if rate < 0:
            raise ValueError("rate must be >= 0")
        self.rate = rate
        self.burst = max(rate, 1.0)  # a second's worth of calls, and at least one
        self._buckets: dict[str, tuple[float, float]] = {}  # api -> (tokens, time of that count)

    def admit(self, api: str, now: float) -> bool:
        """Take one call from `api`'s budget at time `now` (seconds); False when it is spent."""
        if self.rate <= 0:
            return True
        tokens, then = self._buckets.get(api, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        admitted = tokens >= 1.0
        self._buckets[api] = (tokens - 1.0 if admitted else tokens, now)
        return admitted

    def reset(self) -> None:
        """Full budgets again."""
        self._buckets.clear()
