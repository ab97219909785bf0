"""Counters of what the simulator served, for tests and benchmarks (GET /_sim/stats)."""

from __future__ import annotations

from collections import Counter
from typing import Any


class Stats:
    """Requests per endpoint and status, peak concurrency, faults, Retry-After violations, IAM calls."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Zero every counter (requests in flight now stay counted as in flight)."""
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.faults: Counter[str] = Counter()
        self.peak_in_flight = self.in_flight
        self.retry_after_violations = 0
        self.rate_limited = 0
        self.iam_token_requests = 0
        self.auth_failures = 0
        self.live_created = 0
        self.live_advanced = 0

    def enter(self, endpoint: str) -> None:
        """Count a request and its concurrency."""
        self.requests[endpoint] += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self, status: int | None) -> None:
        """Count a finished request (status None: the connection was dropped)."""
        self.in_flight -= 1
        if status is not None:
            self.statuses[status] += 1

    def snapshot(self) -> dict[str, Any]:
        """Every counter as plain JSON-able data."""
        return {
            "requests_total": sum(self.requests.values()),
            "requests_by_endpoint": dict(self.requests),
            "responses_by_status": {str(k): v for k, v in sorted(self.statuses.items())},
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "faults": dict(self.faults),
            "retry_after_violations": self.retry_after_violations,
            "rate_limited": self.rate_limited,
            "iam_token_requests": self.iam_token_requests,
            "auth_failures": self.auth_failures,
            "live_jobs_created": self.live_created,
            "live_jobs_advanced": self.live_advanced,
        }
