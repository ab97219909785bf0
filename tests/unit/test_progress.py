"""Progress figures from RunStats (pure), their terminal rendering, and the events logged off a terminal."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

import pytest
from rich.console import Console
from structlog.testing import capture_logs

from pipeline.domain import RunStats
from pipeline.progress import Figures, RateWindow, eta, measure, render, report_progress


class Counters:
    """A source client's counters, as ClientStats holds them."""

    def __init__(self, requests: int = 0, throttled: int = 0) -> None:
        self.requests, self.throttled = requests, throttled


@pytest.mark.parametrize(
    ("done", "total", "elapsed", "expected"),
    [
        (0, 10, 5.0, None),  # no pace yet
        (5, None, 5.0, None),  # total unknown: discovery goes on
        (5, 10, 5.0, 5.0),
        (10, 10, 7.0, 0.0),
        (12, 10, 6.0, 0.0),  # more done than known (a failed listing) never goes negative
        (1, 100, 2.0, 198.0),
    ],
)
def test_eta_at_the_average_pace(
    done: int, total: int | None, elapsed: float, expected: float | None
) -> None:
    assert eta(done, total, elapsed) == expected


def test_rate_window_measures_over_the_last_seconds_only() -> None:
    rate = RateWindow(2.0)
    assert rate.add(0.0, 0) == 0.0
    assert rate.add(1.0, 100) == 100.0
    assert rate.add(2.0, 200) == 100.0
    assert rate.add(3.0, 210) == pytest.approx(55.0)  # (210 - 100) / 2: the sample at 0 s left the window
    assert rate.add(4.0, 210) == pytest.approx(5.0)
    assert rate.add(4.0, 220) == pytest.approx(10.0)


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (at most 10 s)."""
    async with asyncio.timeout(10):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


def stats_at(**fields: int) -> RunStats:
    stats = RunStats()
    for name, count in fields.items():
        setattr(stats, name, count)
    stats.clients.extend([Counters(40, 2), Counters(10, 1)])
    return stats


def test_figures_while_discovery_goes_on_have_no_total_and_no_eta() -> None:
    stats = stats_at(repos_ok=3, repos_failed=1, repos_discovered=9, sources_discovered=1, jobs_seen=70)
    figures = measure(stats, sources=2, elapsed=4.0, rate=RateWindow(5), now=4.0)
    assert figures.fields() == {
        "repos_done": 4,
        "repos_total": None,
        "repos_discovered": 9,
        "jobs_seen": 70,
        "requests": 50,
        "requests_per_s": 0.0,
        "throttled": 3,
        "eta_s": None,
        "elapsed_s": 4.0,
    }
    assert figures.line().startswith("repositories 4/≥9 · 70 jobs · 0.0 req/s · 3 429s · ETA ?")


def test_figures_once_every_source_is_discovered() -> None:
    rate = RateWindow(5)
    rate.add(0.0, 0)
    stats = stats_at(repos_ok=5, repos_gone=1, skipped_repos=2, repos_discovered=16, sources_discovered=2)
    figures = measure(stats, sources=2, elapsed=10.0, rate=rate, now=10.0)
    assert (figures.repos_done, figures.repos_known, figures.total_known) == (8, 16, True)
    assert figures.fields()["repos_total"] == 16
    assert figures.eta_s == 10.0
    assert figures.requests_per_s == 5.0
    assert "repositories 8/16 " in figures.line() and "ETA 0:00:10" in figures.line()


def test_the_terminal_display_shows_a_bar_over_the_figures() -> None:
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system=None, record=True)
    console.print(render(Figures(75.0, 30, 40, True, 12_345, 900, 12.0, 4, 25.0)))
    lines = console.export_text().splitlines()
    assert lines[0].startswith("━")
    assert lines[1] == "repositories 30/40 · 12,345 jobs · 12.0 req/s · 4 429s · ETA 0:00:25 · 0:01:15"


async def test_off_a_terminal_an_event_is_logged_every_interval() -> None:
    stats = stats_at(repos_discovered=4, sources_discovered=1)
    out = io.StringIO()
    console = Console(file=out)  # not a terminal
    with capture_logs() as logs:
        task = asyncio.create_task(report_progress(stats, 1, 0.05, console=console))
        await until(lambda: len(logs) >= 2)
        stats.repos_ok = 4
        await until(lambda: len(logs) >= 4)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert {e["event"] for e in logs} == {"progress"}
    assert logs[0]["repos_done"] == 0 and logs[-1]["repos_done"] == 4
    assert all(e["repos_total"] == 4 and e["requests"] == 50 for e in logs)
    assert out.getvalue() == ""  # nothing drawn


async def test_on_a_terminal_the_display_is_drawn_and_keeps_its_last_figures() -> None:
    stats = stats_at(repos_ok=1, repos_discovered=3, sources_discovered=1, jobs_seen=42)
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True, color_system=None)
    with capture_logs() as logs:
        task = asyncio.create_task(report_progress(stats, 1, 0.05, console=console))
        await asyncio.sleep(0.1)
        stats.repos_ok, stats.jobs_seen = 3, 99
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert logs == []  # no events: the display shows the figures
    assert "repositories 1/3 · 42 jobs" in out.getvalue()
    assert "repositories 3/3 · 99 jobs" in out.getvalue()  # drawn once more when the run ends
