"""Retry delays: exponential backoff with full jitter, and Retry-After honoured exactly.

Pure: the random draw is passed in, so every delay is testable; the adapter does the sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BackoffPolicy", "backoff_delay", "retry_delay"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long to wait between attempts and how many attempts to make (the first one included)."""

    base: float
    cap: float
    attempts: int
    max_retry_after: float

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0 or self.max_retry_after < 0:
            raise ValueError("backoff delays must be >= 0")
        if self.attempts < 1:
            raise ValueError("attempts must be >= 1")


def backoff_delay(policy: BackoffPolicy, attempt: int, rand: float) -> float:
    """Full jitter: ``rand * min(cap, base * 2**attempt)`` for attempt 0, 1, ... and rand in [0, 1)."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, not {attempt}")
    if not 0.0 <= rand < 1.0:
        raise ValueError(f"rand must be in [0, 1), not {rand}")
    # Bound the exponent: base * 2**attempt would overflow a float long before anyone retries that often.
    return rand * min(policy.cap, policy.base * 2.0 ** min(attempt, 64))


def retry_delay(policy: BackoffPolicy, attempt: int, rand: float, retry_after: float | None) -> float | None:
    """Seconds to wait before retrying, or None to give up on this failure.

    A Retry-After is honoured exactly, never shortened by jitter; one longer than ``max_retry_after`` is a
    wait we will not make, so it returns None (a failure, not a retry). Without one: ``backoff_delay``.
    Counting attempts against ``policy.attempts`` is the caller's job (this only knows the exponent).
    """
    if retry_after is not None:
        if retry_after > policy.max_retry_after:
            return None
        return max(retry_after, 0.0)
    return backoff_delay(policy, attempt, rand)
