"""Run the report queries and map their rows to frozen dataclasses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pipeline.domain import SyncJob
from pipeline.store import queries as q
from pipeline.store.models import (
    RegionFailureRate,
    RepoFailures,
    Report,
    RunSummary,
    StatusCount,
    StuckJob,
)


async def build_report(conn: Any, *, stuck_after: timedelta, top: int) -> Report:
    """Read every report section on one connection (the caller opens the snapshot)."""
    by_status = [StatusCount(r["status"], int(r["count"])) for r in await conn.fetch(q.REPORT_BY_STATUS)]
    by_region = [
        RegionFailureRate(r["remote_region_id"], int(r["total"]), int(r["failed"]), r["failed"] / r["total"])
        for r in await conn.fetch(q.REPORT_FAILURE_BY_REGION)
    ]
    failing = [
        RepoFailures(r["region"], r["namespace"], r["repo_name"], int(r["failed"]), int(r["total"]))
        for r in await conn.fetch(q.REPORT_TOP_FAILING, top)
    ]
    stuck_count = int(await conn.fetchval(q.REPORT_STUCK_COUNT, stuck_after))
    stuck = []
    for row in await conn.fetch(q.REPORT_STUCK_OLDEST, stuck_after, top):
        fields = dict(row)
        region = fields.pop("region")
        stuck.append(StuckJob(region, SyncJob(**fields)))
    latest = await conn.fetchrow(q.REPORT_LATEST_RUN)
    return Report(
        by_status=tuple(by_status),
        failure_by_region=tuple(by_region),
        top_failing=tuple(failing),
        stuck_count=stuck_count,
        stuck_oldest=tuple(stuck),
        latest_run=None if latest is None else _run_summary(latest),
    )


def _run_summary(row: Any) -> RunSummary:
    """A crawl_runs row as a RunSummary."""
    fields = dict(row)
    fields["sources"] = tuple(fields["sources"] or ())
    return RunSummary(**fields)
