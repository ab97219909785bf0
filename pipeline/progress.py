"""A run's progress: figures read from RunStats, drawn live on a terminal (rich), else logged as events.

Discovery feeds repositories to the crawl as it pages through them, so the total is known only once every
source's discovery is complete; until then the figures say how many are known so far, and give no ETA.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from pipeline.domain import RunStats
from pipeline.logs import get_logger

log = get_logger(__name__)

# A terminal display is redrawn this often; its requests/s is measured over the last RATE_WINDOW_S.
REFRESH_S = 0.5
RATE_WINDOW_S = 5.0


@dataclass(frozen=True, slots=True)
class Figures:
    """What the progress display and the `progress` event show."""

    elapsed_s: float
    repos_done: int
    repos_known: int  # discovered so far (the total once discovery is complete)
    total_known: bool
    jobs: int
    requests: int
    requests_per_s: float
    throttled: int
    eta_s: float | None

    def fields(self) -> dict[str, Any]:
        """The `progress` event's fields (repos_total is None while discovery goes on)."""
        return {
            "repos_done": self.repos_done,
            "repos_total": self.repos_known if self.total_known else None,
            "repos_discovered": self.repos_known,
            "jobs_seen": self.jobs,
            "requests": self.requests,
            "requests_per_s": round(self.requests_per_s, 1),
            "throttled": self.throttled,
            "eta_s": None if self.eta_s is None else round(self.eta_s),
            "elapsed_s": round(self.elapsed_s, 1),
        }

    def line(self) -> str:
        """One line for a terminal: `repositories 12/40 · 3,456 jobs · 120.5 req/s · 2 429s · ETA 0:00:31`."""
        total = f"{self.repos_known:,}" if self.total_known else f"≥{self.repos_known:,}"
        eta = "ETA " + (_clock(self.eta_s) if self.eta_s is not None else "?")
        parts = [
            f"repositories {self.repos_done:,}/{total}",
            f"{self.jobs:,} jobs",
            f"{self.requests_per_s:,.1f} req/s",
            f"{self.throttled:,} 429s",
            eta,
            _clock(self.elapsed_s),
        ]
        return " · ".join(parts)


class RateWindow:
    """Per-second rate of a growing count over the last ``window`` seconds."""

    def __init__(self, window: float) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, count: int) -> float:
        """Record ``count`` at ``now``; the rate since the oldest sample still inside the window."""
        self._samples.append((now, count))
        # Keep one sample at or before the window's start, so the rate covers the whole window.
        while len(self._samples) > 2 and self._samples[1][0] <= now - self._window:
            self._samples.popleft()
        then, before = self._samples[0]
        return (count - before) / (now - then) if now > then else 0.0


def eta(done: int, total: int | None, elapsed: float) -> float | None:
    """Seconds left at the average pace so far; None before the total or any pace is known."""
    if total is None or done <= 0 or elapsed <= 0:
        return None
    return max(0, total - done) * elapsed / done


def measure(stats: RunStats, sources: int, elapsed: float, rate: RateWindow, now: float) -> Figures:
    """The figures of ``stats`` now (``sources``: how many sources the run crawls)."""
    done = stats.repos_done
    # A failed namespace listing counts as one repository discovered, and failed.
    known = max(stats.repos_discovered, done)
    total_known = stats.sources_discovered >= sources
    requests = stats.requests_sent()
    return Figures(
        elapsed_s=elapsed,
        repos_done=done,
        repos_known=known,
        total_known=total_known,
        jobs=stats.jobs_seen,
        requests=requests,
        requests_per_s=rate.add(now, requests),
        throttled=stats.throttled_so_far(),
        eta_s=eta(done, known if total_known else None, elapsed),
    )


def render(figures: Figures) -> Table:
    """The terminal display: a bar (pulsing while the total is unknown) over the figures' line."""
    total = float(figures.repos_known) if figures.total_known else None
    bar = ProgressBar(total=total, completed=figures.repos_done, width=60, animation_time=figures.elapsed_s)
    grid = Table.grid()
    grid.add_row(bar)
    grid.add_row(Text(figures.line(), overflow="ellipsis", no_wrap=True))
    return grid


async def report_progress(
    stats: RunStats, sources: int, interval: float, console: Console | None = None
) -> None:
    """Until cancelled: a live display if stderr is a terminal, else a `progress` event every ``interval``."""
    console = console or Console(stderr=True)
    if console.is_terminal:
        await _display(console, stats, sources)
    else:
        await _log_events(stats, sources, interval)


async def _display(console: Console, stats: RunStats, sources: int) -> None:
    started = time.monotonic()
    rate = RateWindow(RATE_WINDOW_S)

    def current() -> Table:
        now = time.monotonic()
        return render(measure(stats, sources, now - started, rate, now))

    # Log lines (written to sys.stderr, which Live redirects) are printed above the display; stdout is left
    # alone (it carries the summary, perhaps to a pipe); no refresh thread: this task redraws it.
    live = Live(current(), console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=True)
    with live:
        try:
            while True:
                await asyncio.sleep(REFRESH_S)
                live.update(current(), refresh=True)
        finally:
            live.update(current(), refresh=True)  # the last figures stay on screen


async def _log_events(stats: RunStats, sources: int, interval: float) -> None:
    started = time.monotonic()
    rate = RateWindow(interval)
    rate.add(started, stats.requests_sent())
    beat = started
    while True:
        # Paced from the start, so events stay `interval` apart however long logging one takes.
        beat += interval
        await asyncio.sleep(max(0.0, beat - time.monotonic()))
        now = time.monotonic()
        log.info("progress", **measure(stats, sources, now - started, rate, now).fields())


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
