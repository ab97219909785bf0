"""The report as one self-contained HTML page: inline SVG charts, inline CSS, no script, nothing fetched."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from html import escape

from pipeline.store.models import Report, RunSummary

WIDTH = 920
LABEL_W = 200
STATUS_COLORS = {
    "success": "#2e9d5b",
    "existed": "#5b8def",
    "failed": "#d64541",
    "timeout": "#e67e22",
    "cancel": "#95a5a6",
    "waiting": "#f1c40f",
    "running": "#8e44ad",
}
OTHER_COLOR = "#34495e"
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 960px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
p.meta { color: #555; margin: 2px 0; } svg { display: block; } text { font: 12px system-ui, sans-serif; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 4px 16px 12px; margin-top: 16px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eee; }
table.run th { width: 140px; font-weight: 600; }
"""


def render_html(report: Report, *, stuck_after: timedelta, now: datetime | None = None) -> str:
    """The whole page."""
    now = now or datetime.now(UTC)
    total = sum(s.count for s in report.by_status)
    window = f"{_when(report.since)} to {_when(report.until)} UTC"
    run = report.latest_run
    run_text = "no crawl yet" if run is None else f"latest run {run.id}: {run.status}"
    all_time = sum(s.count for s in report.all_time)
    body = [
        "<h1>SWR image-sync jobs</h1>",
        f"<p class=meta>{total:,} jobs created {escape(window)}</p>",
        f"<p class=meta>All time: {all_time:,} jobs since {report.first_day or '-'}; {escape(run_text)}</p>",
        _section("Jobs per day by status", daily_chart(report)),
        _section("Failure rate by target region (failed + timeout)", failure_chart(report)),
        _section("Replication duration by target region (successful jobs)", duration_chart(report)),
        _section(
            f"Stuck: {report.stuck_count:,} jobs waiting or running for over "
            f"{stuck_after.total_seconds() / 3600:g} h",
            stuck_chart(report, now) + stuck_table(report, now),
        ),
    ]
    if run is not None:
        body.append(_section(f"Latest run {run.id}: {run.status}", run_table(run)))
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>SWR sync jobs, {escape(window)}</title><style>{STYLE}</style></head>\n"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _section(title: str, content: str) -> str:
    return f"<section><h2>{escape(title)}</h2>\n{content}</section>"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _svg(height: int, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img">' + "".join(parts) + "</svg>\n"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = "#333") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, *, title: str = "") -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    box = f'x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}"'
    return f'<rect {box} fill="{fill}">{tip}</rect>'


def _empty(text: str) -> str:
    return _svg(40, [_text(10, 25, text, fill="#777")])


def daily_chart(report: Report) -> str:
    """Stacked bars: jobs created per UTC day, one colour per status, with a legend."""
    if not report.daily:
        return _empty("No jobs created in this window")
    per_day: dict[date, dict[str, int]] = defaultdict(dict)
    for d in report.daily:
        per_day[d.day][d.status] = d.jobs
    first, last = min(per_day), max(per_day)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    statuses = sorted({d.status for d in report.daily}, key=_status_order)
    peak = max(sum(v.values()) for v in per_day.values())
    left, top, plot_h, plot_w = 56, 30, 200, WIDTH - 70
    step = plot_w / len(days)
    parts = _legend(statuses, left, 14)
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(_text(left - 6, y + 4, f"{peak * fraction:,.0f}", "end", "#777"))
    for i, day in enumerate(days):
        y = top + plot_h
        for status in statuses:
            jobs = per_day.get(day, {}).get(status, 0)
            h = plot_h * jobs / peak
            y -= h
            if jobs:
                tip = f"{day} {status}: {jobs:,}"
                parts.append(_rect(left + i * step, y, max(step * 0.8, 1.0), h, _color(status), title=tip))
    ticks = {0: "start", len(days) // 2: "middle", len(days) - 1: "end"}
    for i, anchor in ticks.items():
        x = left + i * step + (step * 0.8 if anchor == "end" else 0 if anchor == "start" else step * 0.4)
        parts.append(_text(x, top + plot_h + 16, days[i].isoformat(), anchor, "#555"))
    return _svg(top + plot_h + 26, parts)


def _legend(statuses: list[str], x: float, y: float) -> list[str]:
    parts = []
    for status in statuses:
        parts += [_rect(x, y - 9, 10, 10, _color(status)), _text(x + 14, y, status)]
        x += 24 + 7 * len(status)
    return parts


def _bars(rows: list[tuple[str, list[tuple[float, str]], str]], scale: float) -> str:
    """Horizontal bars: per row a label, one or more (value, colour) bars, and a text after them."""
    per_row = max((len(bars) for _, bars, _ in rows), default=1)
    row_h = 8 + 14 * per_row
    plot_w = WIDTH - LABEL_W - 250
    parts = []
    for i, (label, bars, note) in enumerate(rows):
        y = 6 + i * row_h
        parts.append(_text(LABEL_W - 8, y + 7 * per_row + 4, label, "end"))
        width = 0.0
        for j, (value, color) in enumerate(bars):
            bar = plot_w * value / scale if scale else 0.0
            width = max(width, bar)
            parts.append(_rect(LABEL_W, y + 14 * j, bar, 12, color))
        parts.append(_text(LABEL_W + width + 6, y + 7 * per_row + 4, note, fill="#555"))
    return _svg(12 + row_h * len(rows), parts)


def failure_chart(report: Report) -> str:
    """One bar per target region: its share of failed and timed-out jobs."""
    if not report.failure_by_region:
        return _empty("No jobs created in this window")
    rows = [
        (r.remote_region_id or "(none)", [(r.rate, "#d64541")], f"{r.rate:.1%} ({r.failed:,} of {r.total:,})")
        for r in report.failure_by_region
    ]
    return _bars(rows, max(r.rate for r in report.failure_by_region) or 1.0)


def duration_chart(report: Report) -> str:
    """Per target region, the median and the 95th percentile of replication durations."""
    if not report.durations:
        return _empty("No successful jobs in this window")
    rows = [
        (
            d.remote_region_id or "(none)",
            [(d.p50, "#7fb3e6"), (d.p95, "#1f5f9e")],
            f"p50 {seconds_text(d.p50)}, p95 {seconds_text(d.p95)} ({d.jobs:,} jobs)",
        )
        for d in report.durations
    ]
    return _bars(rows, max(d.p95 for d in report.durations) or 1.0) + _svg(
        22, [*_legend_pairs((("p50", "#7fb3e6"), ("p95", "#1f5f9e")))]
    )


def _legend_pairs(pairs: tuple[tuple[str, str], ...]) -> list[str]:
    parts, x = [], float(LABEL_W)
    for name, color in pairs:
        parts += [_rect(x, 5, 10, 10, color), _text(x + 14, 14, name)]
        x += 60
    return parts


def stuck_chart(report: Report, now: datetime) -> str:
    """The oldest stuck jobs, one bar each, as long as they have not moved."""
    if not report.stuck_oldest:
        return _empty("Nothing is stuck")
    ages = [(now - s.job.moved_at).total_seconds() for s in report.stuck_oldest]
    rows = [
        (f"{s.job.namespace}/{s.job.repo_name}"[-28:], [(age, _color(s.job.status))], seconds_text(age))
        for s, age in zip(report.stuck_oldest, ages, strict=True)
    ]
    return _bars(rows, max(ages) or 1.0)


def stuck_table(report: Report, now: datetime) -> str:
    """The same jobs with their ids and tags."""
    head = "<tr><th>region</th><th>id</th><th>repository</th><th>tag</th><th>status</th><th>for</th></tr>"
    rows = [
        f"<tr><td>{escape(s.region)}</td><td>{s.job.id}</td>"
        f"<td>{escape(s.job.namespace)}/{escape(s.job.repo_name)}</td><td>{escape(s.job.tag or '')}</td>"
        f"<td>{escape(s.job.status)}</td>"
        f"<td>{seconds_text((now - s.job.moved_at).total_seconds())}</td></tr>"
        for s in report.stuck_oldest
    ]
    return f"<table>{head}{''.join(rows)}</table>\n" if rows else ""


def run_table(run: RunSummary) -> str:
    """The latest run: when, its repositories by outcome and by mode, its requests and 429s, its jobs."""
    took = f" ({seconds_text((run.finished_at - run.started_at).total_seconds())})" if run.finished_at else ""
    ended = f"ended {_when(run.finished_at)}{took}" if run.finished_at else "still running"
    if run.finished_at is None and run.heartbeat_at is not None:
        ended += f", last heartbeat {_when(run.heartbeat_at)}"
    share = f", {run.throttled / run.requests:.1%}" if run.requests else ""
    rows = [
        ("when", f"started {_when(run.started_at)}, {ended}"),
        ("repositories", f"{run.repos_ok:,} ok, {run.repos_failed:,} failed, {run.repos_gone:,} gone, "
                         f"{run.repos_flagged:,} flagged"),
        ("modes", f"{run.repos_incremental:,} incremental ({run.repos_reread:,} re-read in full), "
                  f"{run.repos_full:,} full, {run.repos_left:,} left for the next run"),
        ("requests", f"{run.requests:,} sent, {run.requests_saved:,} saved by incremental crawls, "
                     f"{run.throttled:,} throttled (429{share})"),
        ("API Gateway rate", f"{_rate(run.rate_reached)} reached, {_rate(run.rate_learned)} learned"),
        ("jobs", f"{run.jobs_seen:,} seen, {run.inserted:,} inserted, {run.updated:,} updated, "
                 f"{run.rejected:,} rejected, {run.id_conflicts:,} id conflicts, "
                 f"{run.jobs_gone:,} gone upstream"),
    ]  # fmt: skip
    if run.error:
        rows.append(("error", run.error))
    cells = "".join(f"<tr><th>{escape(name)}</th><td>{escape(text)}</td></tr>" for name, text in rows)
    return f"<table class=run>{cells}</table>\n"


def _rate(rate: float | None) -> str:
    return "no rate" if rate is None else f"{rate:,.1f} requests/s"


def _status_order(status: str) -> tuple[int, str]:
    order = list(STATUS_COLORS)
    return (order.index(status) if status in order else len(order), status)


def _color(status: str) -> str:
    return STATUS_COLORS.get(status, OTHER_COLOR)


def seconds_text(value: float) -> str:
    """A duration in seconds in the unit that reads best."""
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h" if value < 172800 else f"{value / 86400:.1f} d"
