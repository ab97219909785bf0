"""`swr-etl report`: the questions people ask first, answered from the tables as plain-text tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO

from pipeline import migrate
from pipeline.store import Store
from pipeline.store.models import Report


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A left-aligned text table (numbers right-aligned)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) and bool(rows) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out += [line(row) for row in cells] or ["(none)"]
    return "\n".join(out)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1%}" if value <= 1.0 else f"{value:.1f}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def render_report(report: Report, *, stuck_after: timedelta, now: datetime | None = None) -> str:
    """The whole report as text."""
    now = now or datetime.now(UTC)
    total = sum(s.count for s in report.by_status)
    sections = [
        f"SWR sync jobs: {total} in the database",
        "",
        "Jobs by status",
        table(
            ["status", "jobs", "share"],
            [(s.status, s.count, s.count / total if total else 0.0) for s in report.by_status],
        ),
        "",
        "Failure rate by target region (failed + timeout)",
        table(
            ["target region", "jobs", "failed", "rate"],
            [(r.remote_region_id, r.total, r.failed, r.rate) for r in report.failure_by_region],
        ),
        "",
        "Top failing repositories",
        table(
            ["region", "repository", "failed", "jobs"],
            [(r.region, f"{r.namespace}/{r.repo_name}", r.failed, r.total) for r in report.top_failing],
        ),
        "",
        f"Stuck: {report.stuck_count} jobs waiting or running for over {_duration(stuck_after)}",
        table(
            ["region", "id", "repository", "tag", "status", "last update", "age"],
            [
                (
                    s.region,
                    s.job.id,
                    f"{s.job.namespace}/{s.job.repo_name}",
                    s.job.tag,
                    s.job.status,
                    s.job.updated_at,
                    _duration(now - s.job.updated_at),
                )
                for s in report.stuck_oldest
            ],
        ),
    ]
    run = report.latest_run
    if run is not None:
        sections += [
            "",
            f"Latest run {run.id}: {run.status}, started {_cell(run.started_at)}, "
            f"{run.repos_ok} ok / {run.repos_failed} failed / {run.repos_gone} gone / "
            f"{run.repos_flagged} flagged repositories, {run.jobs_seen} jobs seen, "
            f"{run.inserted} inserted, {run.updated} updated, "
            f"{run.rejected} rejected; {run.repos_incremental} incremental "
            f"({run.repos_reread} re-read in full), {run.repos_full} full, {run.requests_saved} requests "
            f"saved, {run.repos_left} left for later, {run.jobs_gone} jobs gone upstream"
            + (f" — {run.error}" if run.error else ""),
        ]
    return "\n".join(sections)


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} d"


async def print_report(
    database_url: str, *, stuck_after_minutes: float, top: int, out: TextIO | None = None
) -> None:
    """Query the database and print the report."""
    import sys  # noqa: PLC0415

    stuck_after = timedelta(minutes=stuck_after_minutes)
    store = await Store.connect(database_url)
    try:
        # Same contract as crawl: an unmigrated database gets "run `swr-etl migrate`", not a SQL error.
        await store.ensure_at_head(migrate.head_revision())
        report = await store.report(stuck_after=stuck_after, top=top)
    finally:
        await store.close()
    print(render_report(report, stuck_after=stuck_after), file=out or sys.stdout)
