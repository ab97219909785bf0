"""One crawl run: lock, open the run row, crawl every source into the writer, close the run with a status.

Statuses and exit codes: ok 0, partial 3 (some repositories failed), failed 1, interrupted 130/143.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from pipeline import heartbeat, migrate, quota
from pipeline.auth import make_authenticator
from pipeline.budget import RunBudget
from pipeline.client import SwrClient, client_timeout, make_session
from pipeline.crawler import SourceCrawler
from pipeline.domain import RunStats
from pipeline.errors import CrawlLocked, DatabaseError, FatalError, Interrupted, SwrEtlError
from pipeline.incremental import CrawlPlan
from pipeline.limiter import AdaptiveLimiter
from pipeline.logs import get_logger
from pipeline.monitors import start_monitors, stop_monitors
from pipeline.settings import Settings, SourceSettings
from pipeline.store import SessionOptions, Store
from pipeline.store.lock import while_locked
from pipeline.tasks import owned_tasks
from pipeline.writer import Item, Writer

log = get_logger(__name__)

EXIT_OK, EXIT_FATAL, EXIT_PARTIAL = 0, 1, 3
SIGNAL_EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}


# After a stop, repositories in flight may finish during this share of the grace period; the writer then
# commits what was fetched, and the run is closed a margin before the grace period ends (the CLI's backstop).
IN_FLIGHT_SHARE = 0.5
CLOSE_MARGIN_S = 1.0


@dataclass
class StopRequest:
    """Set by the CLI's signal handlers: stop starting repositories, commit what is in flight, exit."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    signum: signal.Signals | None = None
    requested_at: float | None = None  # time.monotonic() of the first request

    def request(self, signum: signal.Signals) -> None:
        if self.signum is None:
            self.signum, self.requested_at = signum, time.monotonic()
        self.event.set()

    def time_left(self, seconds: float) -> float | None:
        """Seconds until ``seconds`` after the stop request (None when no stop was requested)."""
        if self.requested_at is None:
            return None
        return max(0.0, self.requested_at + seconds - time.monotonic())


@dataclass(frozen=True)
class RunOutcome:
    """How the run ended."""

    run_id: int
    status: str
    exit_code: int
    stats: RunStats
    seconds: float
    error: str | None = None

    def summary(self) -> str:
        """The one-line summary `swr-etl crawl` ends with."""
        s = self.stats
        repos = s.repos_ok + s.repos_flagged + s.repos_failed + s.repos_gone
        line = (
            f"run {self.run_id} {self.status}: {repos} repositories ({s.repos_failed} failed, "
            f"{s.repos_gone} gone, {s.repos_flagged} flagged), {s.pages} pages, {s.requests} requests, "
            f"{s.jobs_seen} jobs, {s.inserted} inserted, {s.updated} updated, {s.rejected} rejected, "
            f"{s.unknown_status} unknown status, {s.id_conflicts} id conflicts,"
            f" {s.throttled} throttled (429), {s.rate_reached:.1f} req/s reached,"
            f" {'no rate' if s.rate_learned is None else f'{s.rate_learned:.1f} req/s'} learned,"
            f" {self.seconds:.1f} s; {modes_summary(s)}"
        )
        return line + (f" — {self.error}" if self.error else "")


def modes_summary(stats: RunStats) -> str:
    """Which modes the run used and what they saved, e.g. `990 incremental (2 re-read in full), 10 full`."""
    return (
        f"{stats.repos_incremental} incremental ({stats.repos_reread} re-read in full), {stats.repos_full} "
        f"full, {stats.requests_saved} requests saved, {stats.repos_left} left for later, "
        f"{stats.jobs_gone} jobs gone upstream"
    )


def settings_summary(settings: Settings) -> dict[str, Any]:
    """What crawl_runs.settings keeps: never a credential."""
    return {
        "sources": [
            {
                "endpoint": s.endpoint,
                "region": s.region,
                "auth": s.auth_mode,
                "namespaces": list(s.namespaces),
                "repositories": len(s.repositories),
            }
            for s in settings.sources
        ],
        "concurrency": settings.http.concurrency,
        "page_size": settings.http.page_size,
        "batch_size": settings.database.batch_size,
        # How stale this run's heartbeat may get before another run closes it as abandoned.
        "heartbeat_interval": settings.monitoring.heartbeat_interval,
    }


async def run_crawl(settings: Settings, stop: StopRequest) -> RunOutcome:
    """Crawl every configured source into the database; never raises for a repository's failure."""
    assert settings.database.url is not None
    # asyncpg's pool reports its own failed reconnects (with a traceback) through stdlib logging; a lost
    # database is reported once, by the writer's events and the run's error.
    logging.getLogger("asyncpg.pool").setLevel(logging.CRITICAL)
    # A connection per writer and one for the heartbeat (the crawl lock has a connection of its own).
    store = await Store.connect(
        settings.database.url.reveal(),
        connect_timeout=settings.database.connect_timeout,
        max_size=settings.database.writers + 1,
        session=SessionOptions.from_settings(settings.database, "swr-etl crawl"),
    )
    try:
        await store.ensure_at_head(migrate.head_revision())
        # One lock per source: a crawl of A and one of A and B never run at the same time.
        if not await store.try_lock(*(source.lock_key for source in settings.sources)):
            raise CrawlLocked("another crawl of the same source is running against this database")
        try:
            return await _run_locked(settings, store, stop)
        finally:
            with contextlib.suppress(DatabaseError):
                await store.unlock()
    finally:
        await store.close()


async def _run_locked(settings: Settings, store: Store, stop: StopRequest) -> RunOutcome:
    started = time.monotonic()
    stats = RunStats()
    regions = [s.region for s in settings.sources]
    summary = settings_summary(settings)
    abandoned = await store.close_abandoned_runs(regions, summary, stale_beats=heartbeat.STALE_BEATS)
    # Every step that may fail comes before the run's row opens: a failure then leaves no run 'running'.
    plans = {s.region: await _plan(settings, store, s.region) for s in settings.sources}
    await _prune_rejects(store, settings.database.rejects_retention_days)
    rates = await quota.remembered_rates(store, settings.sources)
    run_id = await store.start_run(regions, summary)
    structlog.contextvars.bind_contextvars(run_id=run_id)
    log.info("run_started", sources=regions, concurrency=settings.http.concurrency)
    if abandoned:
        log.warning("runs_abandoned", run_ids=abandoned)
    queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=settings.database.queue_pages)
    writer = Writer(store, run_id, queue, stats, settings.database)
    writer_task = asyncio.create_task(writer.run(), name="writer")
    budget = RunBudget(started, settings.max_duration)
    crawling = _crawl_sources(settings, queue, stats, stop, rates=rates, plans=plans, budget=budget)
    watch = store.watch_lock(run_id, regions, settings.database.lock_check_interval)
    crawl_task = asyncio.create_task(while_locked(crawling, watch), name="crawl")
    monitors = start_monitors(settings, store, run_id, stats)  # heartbeat and progress
    status, exit_code, error = "ok", EXIT_OK, None
    try:
        await _crawl_until_done(crawl_task, writer_task, stop, settings.grace_period, budget)
        status, exit_code = _status_of(stats)
        if status == "failed":
            error = f"no repository could be crawled ({stats.repos_failed} failed: see crawl_repo_issues)"
    except Interrupted:
        status, exit_code = "interrupted", SIGNAL_EXIT.get(stop.signum or signal.SIGTERM, 143)
    except FatalError as exc:
        status, exit_code, error = "failed", exc.exit_code, exc.message
    except Exception as exc:  # a bug, not a fault: the run still ends 'failed' rather than 'running'
        log.exception("run_crashed")
        status, exit_code, error = "failed", EXIT_FATAL, f"{type(exc).__name__}: {exc}"
    if stop.signum is not None and status != "failed":
        status, exit_code = "interrupted", SIGNAL_EXIT.get(stop.signum, 143)
    grace = settings.grace_period
    error = await _drain_writer(queue, writer_task, stop, grace - min(CLOSE_MARGIN_S, grace * 0.2), error)
    await stop_monitors(monitors)
    if stop.signum is not None and status in ("ok", "partial"):  # the signal came while the writer drained
        status, exit_code = "interrupted", SIGNAL_EXIT.get(stop.signum, 143)
    if error and status in ("ok", "partial"):
        status, exit_code = "failed", EXIT_FATAL
    if status in ("ok", "partial"):  # a run that lost its lock to another crawl must not report success
        try:
            await store.check_lock(run_id, regions)
        except DatabaseError as exc:
            status, exit_code, error = "failed", exc.exit_code, exc.message
    seconds = time.monotonic() - started
    outcome = RunOutcome(run_id, status, exit_code, stats, seconds, error)
    try:
        await store.finish_run(run_id, status, stats, error)
    except DatabaseError as exc:
        lost = f"could not record the run: {exc.message}"
        outcome = RunOutcome(
            run_id, "failed", EXIT_FATAL, stats, seconds, f"{error}; {lost}" if error else lost
        )
    else:
        # After the run's row is closed: rates not remembered only make the next run find them again.
        try:
            await quota.remember_rates(store, run_id, rates)
        except DatabaseError as exc:
            log.warning("rates_not_remembered", error=exc.message)
    finished = {"failed": log.error, "partial": log.warning}.get(outcome.status, log.info)
    finished(
        "run_finished",
        status=outcome.status,
        seconds=round(seconds, 2),
        **({"error": outcome.error} if outcome.error else {}),
        **_stats_fields(stats),
    )
    return outcome


async def _prune_rejects(store: Store, days: float) -> None:
    """Age out the rejects no run has met for `database.rejects_retention_days` (0: keep them all)."""
    if days > 0:
        pruned = await store.prune_rejects(timedelta(days=days))
        if pruned:
            log.info("rejects_pruned", count=pruned, retention_days=days)


async def _crawl_until_done(
    crawl_task: asyncio.Task[None],
    writer_task: asyncio.Task[None],
    stop: StopRequest,
    grace: float,
    budget: RunBudget,
) -> None:
    """Wait for the crawl; raise its failure or the writer's (which stops the crawl at once).

    On a stop the crawler starts no more repositories; those in flight get part of the grace period.
    At the run's deadline (run.max_duration) the crawl is cancelled: what it handed over is committed.
    """
    stop_task = asyncio.create_task(stop.event.wait(), name="stop")
    try:
        await asyncio.wait(
            {crawl_task, writer_task, stop_task},
            timeout=budget.seconds_to_cancel(time.monotonic()),
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not (crawl_task.done() or writer_task.done() or stop.event.is_set()):
            log.warning("run_deadline_reached", max_duration=budget.max_duration)
        if stop.event.is_set() and not crawl_task.done() and not writer_task.done():
            await asyncio.wait(
                {crawl_task, writer_task},
                timeout=stop.time_left(grace * IN_FLIGHT_SHARE),
                return_when=asyncio.FIRST_COMPLETED,
            )
    finally:
        stop_task.cancel()
        if not crawl_task.done():
            crawl_task.cancel()
            await asyncio.wait({crawl_task})  # its requests end and its sessions close before we go on
    if writer_task.done():  # the writer only ends on the sentinel, which is not sent yet: it failed
        raise writer_task.exception() or DatabaseError("the writer stopped early")
    if not crawl_task.cancelled() and (failure := crawl_task.exception()) is not None:
        raise failure


async def _drain_writer(
    queue: asyncio.Queue[Item],
    writer_task: asyncio.Task[None],
    stop: StopRequest,
    deadline: float,
    error: str | None,
) -> str | None:
    """Let the writer commit what is queued; once a stop is requested (before or during this drain), only
    until ``deadline`` seconds after it. Report the writer's failure."""
    if not writer_task.done():
        finishing = asyncio.create_task(_finish_writer(queue, writer_task))
        stop_wait = asyncio.create_task(stop.event.wait())
        try:
            await asyncio.wait({finishing, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not finishing.done():
                await asyncio.wait({finishing}, timeout=stop.time_left(deadline))
        finally:
            stop_wait.cancel()
        if not finishing.done():
            finishing.cancel()
            writer_task.cancel()
            await asyncio.wait({finishing, writer_task})
            return error or "the writer did not finish within the grace period"
    exc = writer_task.exception() if not writer_task.cancelled() else None
    if isinstance(exc, SwrEtlError):
        return error or exc.message
    if exc is not None:
        return error or f"writer failed: {type(exc).__name__}: {exc}"
    return error


async def _finish_writer(queue: asyncio.Queue[Item], writer_task: asyncio.Task[None]) -> None:
    put = asyncio.create_task(queue.put(None))
    try:
        # The sentinel may wait for room in the queue; a writer that fails meanwhile ends the wait too.
        await asyncio.wait({put, writer_task}, return_when=asyncio.FIRST_COMPLETED)
        if not writer_task.done():
            await asyncio.wait({writer_task})
    finally:
        put.cancel()


def _status_of(stats: RunStats) -> tuple[str, int]:
    """ok; partial when some repositories failed; failed when they all did (an unreachable or wrong
    endpoint, a namespace listing that never answered): a CronJob should alert on that, not shrug.
    Repositories a deadline left for later did not fail: with them the run is partial."""
    if not stats.repos_failed:
        return "ok", EXIT_OK
    if stats.repos_ok + stats.repos_flagged + stats.repos_gone == 0 and not stats.repos_left:
        return "failed", EXIT_FATAL
    return "partial", EXIT_PARTIAL


def _stats_fields(stats: RunStats) -> dict[str, int]:
    values = {f.name: getattr(stats, f.name) for f in dataclasses.fields(stats)}
    values["repos_left"] = stats.repos_left
    return {name: value for name, value in values.items() if isinstance(value, int)}


async def _plan(settings: Settings, store: Store, region: str) -> CrawlPlan:
    """How this run crawls a region's repositories: their states and the mode settings."""

    def seconds(value: float | None) -> timedelta | None:
        return None if value is None else timedelta(seconds=value)

    return CrawlPlan(
        states=await store.load_repo_states(region),
        now=datetime.now(UTC),
        force_full=settings.full,
        full_every=seconds(settings.full_every),
        horizon=timedelta(seconds=settings.open_job_horizon),
    )


async def _crawl_sources(
    settings: Settings,
    queue: asyncio.Queue[Item],
    stats: RunStats,
    stop: StopRequest,
    *,
    rates: quota.Rates,
    plans: dict[str, CrawlPlan],
    budget: RunBudget,
) -> None:
    # One source's fatal failure ends the run: the other sources must not crawl on unseen.
    async with owned_tasks() as group:
        for source in settings.sources:
            plan = plans[source.region]
            group.create_task(
                _crawl_source(settings, source, queue, stats, stop, rates=rates, plan=plan, budget=budget)
            )


async def _crawl_source(
    settings: Settings,
    source: SourceSettings,
    queue: asyncio.Queue[Item],
    stats: RunStats,
    stop: StopRequest,
    *,
    rates: quota.Rates,
    plan: CrawlPlan,
    budget: RunBudget,
) -> None:
    """Crawl one source; rates[source.lock_key]: the pace per API it starts from, then the one it ends at."""
    http = settings.http

    def stopping() -> bool:  # a stop request, or the run's deadline: no request is sent any more
        return stop.event.is_set() or not budget.may_send(time.monotonic())

    async with make_session(http) as session:
        auth = make_authenticator(source, session, client_timeout(http), settings.proxies)
        limiter = AdaptiveLimiter(
            http.concurrency,
            rate=http.rate_limit,
            share=http.max_quota_share,
            learned=rates.get(source.lock_key),
        )
        proxy = settings.proxies.for_url(source.endpoint)
        read_before = any(state.last_success_at is not None for state in plan.states.values())
        client = SwrClient(
            session,
            source.endpoint,
            auth,
            limiter,
            http,
            stopping=stopping,
            proxy=proxy,
            read_before=read_before,
        )
        stats.clients.append(client.stats)  # progress and the heartbeat read its counters live
        crawler = SourceCrawler(
            client, source, http, queue=queue, stats=stats, stopping=stop.event.is_set, plan=plan,
            may_start=lambda: budget.may_start(time.monotonic()),
        )  # fmt: skip
        try:
            await crawler.run()
        finally:
            stats.requests += client.stats.requests
            stats.throttled += client.stats.throttled
            pacing = limiter.pacing()
            quota.record_pacing(stats, rates, source.lock_key, pacing)
            log.info(
                "source_done",
                region=source.region,
                requests=client.stats.requests,
                retries=client.stats.retries,
                throttled=client.stats.throttled,
                peak_in_flight=limiter.peak_in_flight,
                rates=quota.rounded(pacing),
            )
