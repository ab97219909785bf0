"""A run's Prometheus metrics, pushed to a Pushgateway when it ends: the Prometheus way for batch jobs.

Grouped by job `swr_etl` and `source` (the run's regions). Pushed with POST, which replaces only the
metrics pushed: `swr_etl_last_success_timestamp_seconds`, pushed only after a run that ended ok, keeps
the time of the last success across the failed runs after it, which is what an alert watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

from pipeline.domain import RunStats
from pipeline.errors import CrawlLocked, FatalError, Interrupted
from pipeline.logs import get_logger
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.run import RunOutcome, StopRequest

log = get_logger(__name__)

JOB = "swr_etl"
STATUSES = ("ok", "partial", "failed", "interrupted")
# After a stop the CLI exits at the end of the grace period whatever runs: the push ends this much before.
STOP_MARGIN_S = 0.5


@dataclass(frozen=True)
class RunResult:
    """What is pushed about one run."""

    status: str
    seconds: float
    stats: RunStats
    ended_at: float  # Unix time


def source_label(settings: Settings) -> str:
    """The `source` grouping label: the run's regions, comma-separated."""
    return ",".join(source.region for source in settings.sources)


def build_registry(result: RunResult) -> CollectorRegistry:
    """The run's metrics in a registry of their own."""
    registry = CollectorRegistry(auto_describe=True)

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, doc, labels, registry=registry)

    s = result.stats
    gauge("swr_etl_run_duration_seconds", "How long the last run took").set(result.seconds)
    status = gauge("swr_etl_run_status", "1 for the status the last run ended with", ("status",))
    for name in STATUSES:
        status.labels(name).set(1 if name == result.status else 0)
    repositories = gauge("swr_etl_run_repositories", "Repositories of the last run by outcome", ("outcome",))
    repo_counts = {
        "ok": s.repos_ok,
        "failed": s.repos_failed,
        "gone": s.repos_gone,
        "flagged": s.repos_flagged,
        "skipped": s.skipped_repos,
    }
    for outcome, count in repo_counts.items():
        repositories.labels(outcome).set(count)
    jobs = gauge("swr_etl_run_jobs", "Sync jobs of the last run: seen, and what the upsert did", ("outcome",))
    job_counts = {
        "seen": s.jobs_seen,
        "inserted": s.inserted,
        "updated": s.updated,
        "unchanged": s.unchanged,
        "rejected": s.rejected,
    }
    for outcome, count in job_counts.items():
        jobs.labels(outcome).set(count)
    gauge("swr_etl_run_requests", "Requests the last run sent to SWR").set(s.requests_sent())
    gauge("swr_etl_run_throttled_requests", "429 answers the last run got").set(s.throttled_so_far())
    if result.status == "ok":
        gauge("swr_etl_last_success_timestamp_seconds", "When the last ok run ended").set(result.ended_at)
    return registry


async def push_metrics(settings: Settings, result: RunResult, deadline: float) -> bool:
    """Push the run's metrics within ``deadline`` seconds; a failure is logged, never raised."""
    url = settings.monitoring.pushgateway_url
    registry = build_registry(result)
    grouping = {"source": source_label(settings)}

    def push() -> None:
        pushadd_to_gateway(url, job=JOB, registry=registry, grouping_key=grouping, timeout=deadline)

    error = await _in_daemon_thread(push, deadline)
    if error is not None:
        log.warning("metrics_push_failed", pushgateway=url, error=error)
        return False
    log.info("metrics_pushed", pushgateway=url, status=result.status, **grouping)
    return True


async def push_after(crawl: Awaitable[RunOutcome], settings: Settings, stop: StopRequest) -> RunOutcome:
    """Await the crawl, then push its metrics when a Pushgateway is set (also after a fatal error; not
    when another crawl of the source holds the lock: that one pushes its own)."""
    if not settings.monitoring.pushgateway_url:
        return await crawl
    started = time.monotonic()
    try:
        outcome = await crawl
    except CrawlLocked:
        raise
    except FatalError as exc:
        status = "interrupted" if isinstance(exc, Interrupted) else "failed"
        await _push_in_time(
            settings, RunResult(status, time.monotonic() - started, RunStats(), time.time()), stop
        )
        raise
    await _push_in_time(
        settings, RunResult(outcome.status, outcome.seconds, outcome.stats, time.time()), stop
    )
    return outcome


async def _push_in_time(settings: Settings, result: RunResult, stop: StopRequest) -> None:
    timeout = settings.monitoring.pushgateway_timeout
    left = stop.time_left(settings.grace_period)
    if left is not None:  # stopping: the process exits at the end of the grace period
        timeout = min(timeout, left - STOP_MARGIN_S)
    if timeout <= 0:
        log.warning("metrics_push_skipped", reason="no time left in the grace period")
        return
    await push_metrics(settings, result, timeout)


async def _in_daemon_thread(work: Callable[[], None], deadline: float) -> str | None:
    """Run blocking ``work`` in a daemon thread for at most ``deadline`` seconds; its error, if any.

    A daemon thread, not the loop's executor: a Pushgateway that never answers must not hold the process
    at exit (the executor is joined at shutdown), whatever the socket timeout lets through.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str | None] = loop.create_future()

    def settle(error: str | None) -> None:
        if not done.done():
            done.set_result(error)

    def run() -> None:
        try:
            work()
            error = None
        except Exception as exc:  # any failure to push is reported, none is fatal
            error = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=run, name="pushgateway", daemon=True).start()
    try:
        async with asyncio.timeout(deadline):
            return await done
    except TimeoutError:
        return f"no answer within {deadline:.1f} s"
