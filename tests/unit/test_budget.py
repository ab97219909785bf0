"""RunBudget: when a capped run stops starting repositories, stops sending, and is cancelled."""

from __future__ import annotations

import pytest

from pipeline.budget import RunBudget


@pytest.mark.parametrize(
    ("max_duration", "start_until", "send_until", "cancel_at"),
    [
        (10.0, 6.0, 8.5, 9.25),  # shares of a short run: 15% to close, 25% to finish in-flight work
        (600.0, 565.0, 595.0, 597.5),  # long runs: 5 s to close, 30 s to finish
    ],
)
def test_deadlines(max_duration: float, start_until: float, send_until: float, cancel_at: float) -> None:
    budget = RunBudget(100.0, max_duration)
    assert budget.may_start(100.0 + start_until - 0.01)
    assert not budget.may_start(100.0 + start_until)
    assert budget.may_send(100.0 + send_until - 0.01)
    assert not budget.may_send(100.0 + send_until)
    assert budget.seconds_to_cancel(100.0) == pytest.approx(cancel_at)
    assert budget.seconds_to_cancel(100.0 + max_duration) == 0.0


def test_no_cap() -> None:
    budget = RunBudget(0.0)
    assert budget.may_start(1e9) and budget.may_send(1e9)
    assert budget.seconds_to_cancel(1e9) is None
