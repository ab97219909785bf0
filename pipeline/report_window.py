"""The report's time window: `--since` / `--until` as durations ago or dates, parsed without I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.errors import ConfigError

DEFAULT_SINCE = "7d"
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([mhdw])")


@dataclass(frozen=True, slots=True)
class Window:
    """Jobs created at or after `since` and before `until` (both aware)."""

    since: datetime
    until: datetime


def parse_moment(text: str, now: datetime) -> datetime:
    """A moment: a duration ago (`90m`, `36h`, `7d`, `2w`) or an ISO 8601 date or time (UTC if naive)."""
    value = text.strip()
    duration = _DURATION.fullmatch(value.lower())
    if duration is not None:
        return now - float(duration.group(1)) * _UNITS[duration.group(2)]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{text!r} is neither a duration (like 90m, 36h, 7d, 2w) nor a date (like 2026-01-31 or "
            "2026-01-31T08:00:00+01:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_window(since: str | None, until: str | None, now: datetime | None = None) -> Window:
    """The window named by the flags (since defaults to 7 days ago, until to now); since must come first."""
    now = now or datetime.now(UTC)
    start = parse_moment(since or DEFAULT_SINCE, now)
    end = now if until is None else parse_moment(until, now)
    if start >= end:
        raise ConfigError(f"--since ({start.isoformat()}) must be before --until ({end.isoformat()})")
    return Window(start, end)
