"""The report as data: one JSON object, or one of its tables as CSV (no I/O beyond the given stream)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TextIO

import orjson

from pipeline.store.models import Report, RunSummary, StuckJob


def to_json(report: Report, *, stuck_after: timedelta) -> str:
    """One JSON object; the window is since <= created_at < until, both ISO 8601 with an offset."""
    document = {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "jobs": sum(s.count for s in report.by_status),
        "by_status": {s.status: s.count for s in report.by_status},
        "failure_rate_by_region": _rows("failure_by_region", report),
        "duration_by_region": _rows("durations", report),
        "daily": _rows("daily", report),
        "top_failing_repositories": _rows("top_failing", report),
        "stuck_jobs": {
            "after_minutes": stuck_after.total_seconds() / 60,
            "count": report.stuck_count,
            "oldest": _rows("stuck", report),
        },
        "latest_run": None if report.latest_run is None else _run(report.latest_run),
        "all_time": {
            "jobs": sum(s.count for s in report.all_time),
            "first_day": report.first_day.isoformat() if report.first_day else None,
            "by_status": {s.status: s.count for s in report.all_time},
        },
    }
    return orjson.dumps(document).decode()


def _run(run: RunSummary) -> dict[str, Any]:
    fields = {name: getattr(run, name) for name in run.__slots__}
    fields["started_at"] = run.started_at.isoformat()
    fields["finished_at"] = run.finished_at.isoformat() if run.finished_at else None
    fields["heartbeat_at"] = run.heartbeat_at.isoformat() if run.heartbeat_at else None
    fields["sources"] = list(run.sources)
    return fields


# Each table: its columns and how a report gives its rows.
TABLES: dict[str, tuple[Sequence[str], Callable[[Report], list[Sequence[Any]]]]] = {
    "by_status": (("status", "jobs"), lambda r: [(s.status, s.count) for s in r.by_status]),
    "daily": (("day", "status", "jobs"), lambda r: [(d.day.isoformat(), d.status, d.jobs) for d in r.daily]),
    "failure_by_region": (
        ("remote_region_id", "jobs", "failed", "failure_rate"),
        lambda r: [(f.remote_region_id, f.total, f.failed, round(f.rate, 6)) for f in r.failure_by_region],
    ),
    "durations": (
        ("remote_region_id", "jobs", "p50_seconds", "p95_seconds"),
        lambda r: [(d.remote_region_id, d.jobs, round(d.p50, 3), round(d.p95, 3)) for d in r.durations],
    ),
    "top_failing": (
        ("region", "namespace", "repo_name", "failed", "jobs"),
        lambda r: [(f.region, f.namespace, f.repo_name, f.failed, f.total) for f in r.top_failing],
    ),
    "stuck": (
        ("region", "id", "namespace", "repo_name", "tag", "status", "created_at", "updated_at"),
        lambda r: [_stuck_row(s) for s in r.stuck_oldest],
    ),
}


def _stuck_row(stuck: StuckJob) -> tuple[Any, ...]:
    job = stuck.job
    return (stuck.region, job.id, job.namespace, job.repo_name, job.tag, job.status,
            job.created_at.isoformat(), job.updated_at and job.updated_at.isoformat())  # fmt: skip


def _rows(name: str, report: Report) -> list[dict[str, Any]]:
    columns, rows = TABLES[name]
    return [dict(zip(columns, row, strict=True)) for row in rows(report)]


def write_csv(report: Report, name: str, out: TextIO) -> None:
    """One table of the report as CSV with a header row."""
    columns, rows = TABLES[name]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows(report))
