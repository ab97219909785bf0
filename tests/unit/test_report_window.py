"""--since / --until: durations ago and dates, parsed without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.errors import ConfigError
from pipeline.report_window import parse_moment, parse_window

NOW = datetime(2026, 6, 15, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("36h", NOW - timedelta(hours=36)),
        ("90m", NOW - timedelta(minutes=90)),
        ("2w", NOW - timedelta(weeks=2)),
        ("1.5d", NOW - timedelta(hours=36)),
        (" 3D ", NOW - timedelta(days=3)),
        ("2026-01-31", datetime(2026, 1, 31, tzinfo=UTC)),
        ("2026-01-31T08:00", datetime(2026, 1, 31, 8, tzinfo=UTC)),
        ("2026-01-31T08:00:00Z", datetime(2026, 1, 31, 8, tzinfo=UTC)),
        ("2026-01-31T08:00:00+02:00", datetime(2026, 1, 31, 8, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_moments(text: str, expected: datetime) -> None:
    moment = parse_moment(text, NOW)
    assert moment == expected and moment.tzinfo is not None


@pytest.mark.parametrize("text", ["", "7", "d7", "7 days", "-7d", "7y", "2026-13-01", "yesterday"])
def test_what_is_neither_a_duration_nor_a_date_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="neither a duration"):
        parse_moment(text, NOW)


def test_the_default_window_is_the_last_seven_days() -> None:
    window = parse_window(None, None, NOW)
    assert (window.since, window.until) == (NOW - timedelta(days=7), NOW)


def test_both_ends_may_be_durations_or_dates() -> None:
    assert parse_window("30d", "7d", NOW).until == NOW - timedelta(days=7)
    window = parse_window("2026-01-01", "2026-02-01", NOW)
    assert (window.since.month, window.until.month) == (1, 2)


@pytest.mark.parametrize(("since", "until"), [("1d", "2d"), ("2026-02-01", "2026-02-01"), ("1d", "1d")])
def test_since_must_come_before_until(since: str, until: str) -> None:
    with pytest.raises(ConfigError, match="must be before"):
        parse_window(since, until, NOW)
