"""Backoff delays with injected randomness, Retry-After precedence, and what counts as retryable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.backoff import BackoffPolicy, backoff_delay, retry_delay

POLICY = BackoffPolicy(base=0.5, cap=30.0, attempts=5, max_retry_after=60.0)


@pytest.mark.parametrize(
    ("attempt", "rand", "delay"),
    [
        (0, 0.0, 0.0),
        (0, 0.5, 0.25),
        (1, 0.5, 0.5),
        (2, 0.5, 1.0),
        (3, 0.999, 0.999 * 4.0),
        (5, 0.5, 8.0),
        (6, 0.5, 15.0),  # 0.5 * 64 = 32 > cap 30
        (10, 0.5, 15.0),
        (2000, 0.5, 15.0),  # 2**2000 overflows a float: the cap still applies
    ],
)
def test_backoff_delay_full_jitter(attempt: int, rand: float, delay: float) -> None:
    assert backoff_delay(POLICY, attempt, rand) == pytest.approx(delay)


def test_backoff_delay_with_zero_base_is_zero() -> None:
    policy = BackoffPolicy(base=0.0, cap=10.0, attempts=3, max_retry_after=0.0)
    assert [backoff_delay(policy, attempt, 0.9) for attempt in (0, 5, 63, 64, 500)] == [0.0] * 5


@pytest.mark.parametrize(("attempt", "rand"), [(-1, 0.5), (0, 1.0), (0, -0.1), (0, float("nan"))])
def test_backoff_delay_refuses_bad_arguments(attempt: int, rand: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        backoff_delay(POLICY, attempt, rand)


@given(st.integers(0, 10_000), st.floats(0.0, 1.0, exclude_max=True))
def test_backoff_delay_stays_in_range(attempt: int, rand: float) -> None:
    assert 0.0 <= backoff_delay(POLICY, attempt, rand) < POLICY.cap


@pytest.mark.parametrize(
    ("attempt", "rand", "retry_after", "delay"),
    [
        (0, 0.5, None, 0.25),  # no Retry-After: backoff
        (0, 0.0, 10.0, 10.0),  # honoured exactly, jitter does not shorten it
        (0, 0.999, 10.0, 10.0),
        (4, 0.999, 1.0, 1.0),  # nor is it lengthened by the backoff
        (0, 0.5, 0.0, 0.0),
        (0, 0.5, 60.0, 60.0),  # at the limit: still waited for
        (0, 0.5, 60.5, None),  # longer than max_retry_after: give up
        (0, 0.5, 86_400.0, None),
        (0, 0.5, -3.0, 0.0),
    ],
)
def test_retry_delay(attempt: int, rand: float, retry_after: float | None, delay: float | None) -> None:
    result = retry_delay(POLICY, attempt, rand, retry_after)
    if delay is None:
        assert result is None
    else:
        assert result == pytest.approx(delay)


@given(st.integers(0, 100), st.floats(0.0, 1.0, exclude_max=True), st.floats(0.0, 60.0))
def test_retry_after_is_never_shortened(attempt: int, rand: float, retry_after: float) -> None:
    assert retry_delay(POLICY, attempt, rand, retry_after) == retry_after


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base": -1.0, "cap": 1.0, "attempts": 1, "max_retry_after": 0.0}, ">= 0"),
        ({"base": 1.0, "cap": -1.0, "attempts": 1, "max_retry_after": 0.0}, ">= 0"),
        ({"base": 1.0, "cap": 1.0, "attempts": 1, "max_retry_after": -1.0}, ">= 0"),
        ({"base": 1.0, "cap": 1.0, "attempts": 0, "max_retry_after": 0.0}, "attempts"),
    ],
)
def test_policy_validates(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]
