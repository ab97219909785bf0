"""`swr-etl report`: the questions people ask first, answered from the tables as plain-text tables."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from pipeline import migrate, report_html, report_output
from pipeline.errors import ConfigError
from pipeline.report_window import Window
from pipeline.store import SessionOptions, Store
from pipeline.store.models import Report, RunSummary


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
        f"SWR sync jobs created {_cell(report.since)} to {_cell(report.until)} UTC: {total}",
        all_time_line(report),
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
        "Replication duration by target region (successful jobs)",
        table(
            ["target region", "jobs", "p50", "p95"],
            [(d.remote_region_id, d.jobs, _secs(d.p50), _secs(d.p95)) for d in report.durations],
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
                    _duration(now - s.job.moved_at),
                )
                for s in report.stuck_oldest
            ],
        ),
    ]
    if report.latest_run is not None:
        sections += ["", latest_run_line(report.latest_run)]
    return "\n".join(sections)


def _secs(value: float) -> str:
    return report_html.seconds_text(value)


def all_time_line(report: Report) -> str:
    """One line over all history, from the rollup: jobs, first day, share of each status."""
    total = sum(s.count for s in report.all_time)
    if not total:
        return "All time: no jobs"
    shares = ", ".join(f"{s.status} {s.count / total:.1%}" for s in report.all_time)
    return f"All time: {total} jobs since {report.first_day}: {shares}"


def latest_run_line(run: RunSummary) -> str:
    """The latest run in one line, in the words of the crawl's summary line."""
    alive = (
        f", last heartbeat {_cell(run.heartbeat_at)}" if run.status == "running" and run.heartbeat_at else ""
    )
    return (
        f"Latest run {run.id}: {run.status}, started {_cell(run.started_at)}{alive}, "
        f"{run.repos_ok} ok / {run.repos_failed} failed / {run.repos_gone} gone / "
        f"{run.repos_flagged} flagged repositories, {run.jobs_seen} jobs seen, "
        f"{run.inserted} inserted, {run.updated} updated, "
        f"{run.rejected} rejected, {run.id_conflicts} id conflicts; {run.requests} requests, "
        f"{run.throttled} throttled (429), {_rate(run.rate_reached)} reached, "
        f"{_rate(run.rate_learned)} learned; {run.repos_incremental} incremental "
        f"({run.repos_reread} re-read in full), {run.repos_full} full, {run.requests_saved} requests "
        f"saved, {run.repos_left} left for later, {run.jobs_gone} jobs gone upstream"
        + (f" — {run.error}" if run.error else "")
    )


def _rate(rate: float | None) -> str:
    """A rate in requests/second, or "no rate" (the run never reached or learned one)."""
    return "no rate" if rate is None else f"{rate:.1f} req/s"


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} d"


async def print_report(
    database_url: str,
    *,
    window: Window,
    stuck_after_minutes: float,
    top: int,
    output_format: str = "console",
    csv_table: str = "by_status",
    html: Path | None = None,
    out: TextIO | None = None,
    session: SessionOptions | None = None,
) -> None:
    """Query the database, print the report in the format asked for, and write the HTML file if asked."""
    stuck_after = timedelta(minutes=stuck_after_minutes)
    store = await Store.connect(
        database_url, writes=False, session=session or SessionOptions(application_name="swr-etl report")
    )
    try:
        # Same contract as crawl: an unmigrated database gets "run `swr-etl migrate`", not a SQL error.
        await store.ensure_at_head(migrate.head_revision())
        report = await store.report(since=window.since, until=window.until, stuck_after=stuck_after, top=top)
    finally:
        await store.close()
    if html is not None:  # first: a path that cannot be written is an error before anything is printed
        page = report_html.render_html(report, stuck_after=stuck_after)
        try:
            await asyncio.to_thread(html.write_text, page, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the HTML report to {html}: {exc.strerror or exc}") from None
    out = out or sys.stdout
    if output_format == "json":
        out.write(report_output.to_json(report, stuck_after=stuck_after) + "\n")
    elif output_format == "csv":
        report_output.write_csv(report, csv_table, out)
    else:
        print(render_report(report, stuck_after=stuck_after), file=out)
