"""Run the report queries and map their rows to frozen dataclasses."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pipeline.domain import SyncJob
from pipeline.store import report_queries as q
from pipeline.store.models import (
    DailyCount,
    RegionDurations,
    RegionFailureRate,
    RepoFailures,
    Report,
    RunSummary,
    StatusCount,
    StuckJob,
)


async def build_report(
    conn: Any, *, since: datetime, until: datetime, stuck_after: timedelta, top: int
) -> Report:
    """Read every report section on one connection (the caller opens the snapshot)."""
    window = (since, until)
    by_status = [StatusCount(r["status"], int(r["count"])) for r in await conn.fetch(q.BY_STATUS, *window)]
    daily = [DailyCount(r["day"], r["status"], int(r["jobs"])) for r in await conn.fetch(q.DAILY, *window)]
    by_region = [
        RegionFailureRate(r["remote_region_id"], int(r["total"]), int(r["failed"]), r["failed"] / r["total"])
        for r in await conn.fetch(q.FAILURE_BY_REGION, *window)
    ]
    durations = [
        RegionDurations(r["remote_region_id"], int(r["jobs"]), float(r["p50"]), float(r["p95"]))
        for r in await conn.fetch(q.DURATIONS, *window)
    ]
    failing = [
        RepoFailures(r["region"], r["namespace"], r["repo_name"], int(r["failed"]), int(r["total"]))
        for r in await conn.fetch(q.TOP_FAILING, *window, top)
    ]
    all_time = await conn.fetch(q.ALL_TIME)
    latest = await conn.fetchrow(q.LATEST_RUN)
    return Report(
        since=since,
        until=until,
        by_status=tuple(by_status),
        daily=tuple(daily),
        failure_by_region=tuple(by_region),
        durations=tuple(durations),
        top_failing=tuple(failing),
        stuck_count=int(await conn.fetchval(q.STUCK_COUNT, stuck_after)),
        stuck_oldest=tuple(await _stuck(conn, stuck_after, top)),
        latest_run=None if latest is None else _run_summary(latest),
        all_time=tuple(StatusCount(r["status"], int(r["jobs"])) for r in all_time),
        first_day=min((r["first_day"] for r in all_time), default=None),
    )


async def _stuck(conn: Any, stuck_after: timedelta, top: int) -> list[StuckJob]:
    """The oldest waiting/running jobs not updated for longer than `stuck_after`."""
    stuck = []
    for row in await conn.fetch(q.STUCK_OLDEST, stuck_after, top):
        fields = dict(row)
        region = fields.pop("region")
        stuck.append(StuckJob(region, SyncJob(**fields)))
    return stuck


def _run_summary(row: Any) -> RunSummary:
    """A crawl_runs row as a RunSummary."""
    fields = dict(row)
    fields["sources"] = tuple(fields["sources"] or ())
    return RunSummary(**fields)
