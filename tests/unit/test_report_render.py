"""The report's renderings are pure functions of a Report: empty reports, escaping, JSON and CSV shapes."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from pipeline.domain import SyncJob
from pipeline.report import latest_run_line
from pipeline.report_html import render_html, seconds_text
from pipeline.report_output import TABLES, to_json, write_csv
from pipeline.store.models import (
    DailyCount,
    RegionDurations,
    RegionFailureRate,
    Report,
    RunSummary,
    StatusCount,
    StuckJob,
)

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7)
EMPTY = Report(SINCE, UNTIL, (), (), (), (), (), 0, (), None, (), None)
HOSTILE = "<script>alert(1)</script>"


def stuck(tag: str) -> StuckJob:
    job = SyncJob(
        7, "team", "web", tag, "waiting", False, "eu-west-0", "m", "d", "acme", "u", "alice",
        SINCE, SINCE + timedelta(hours=1),
    )  # fmt: skip
    return StuckJob("r1", job)


FULL = Report(
    since=SINCE,
    until=UNTIL,
    by_status=(StatusCount("success", 3), StatusCount("failed", 1)),
    daily=(DailyCount(date(2026, 3, 1), "success", 3), DailyCount(date(2026, 3, 3), "failed", 1)),
    failure_by_region=(RegionFailureRate(None, 4, 1, 0.25),),
    durations=(RegionDurations("eu-west-0", 3, 90.0, 4000.0),),
    top_failing=(),
    stuck_count=1,
    stuck_oldest=(stuck(HOSTILE),),
    latest_run=None,
    all_time=(StatusCount("success", 30), StatusCount("failed", 10)),
    first_day=date(2024, 1, 1),
)


def test_an_empty_report_says_so_in_every_chart() -> None:
    page = render_html(EMPTY, stuck_after=timedelta(hours=1), now=UNTIL)
    assert page.count("No jobs created in this window") == 2
    assert "No successful jobs in this window" in page and "Nothing is stuck" in page


def test_text_from_the_database_is_escaped() -> None:
    page = render_html(FULL, stuck_after=timedelta(hours=1), now=UNTIL)
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "(none)" in page  # a job without a target region
    # Every day of the window's range gets a slot, with or without jobs: 3 days, 2 bars.
    assert page.count("2026-03-0") >= 3 and page.count("<title>2026-03-0") == 2


def test_json_names_its_window_and_sums() -> None:
    document = json.loads(to_json(FULL, stuck_after=timedelta(minutes=90)))
    assert (document["since"], document["until"]) == (
        "2026-03-01T00:00:00+00:00",
        "2026-03-08T00:00:00+00:00",
    )
    assert document["by_status"] == {"success": 3, "failed": 1} and document["jobs"] == 4
    assert document["all_time"] == {
        "jobs": 40,
        "first_day": "2024-01-01",
        "by_status": {"success": 30, "failed": 10},
    }
    assert (
        document["stuck_jobs"]["after_minutes"] == 90
        and document["stuck_jobs"]["oldest"][0]["tag"] == HOSTILE
    )
    assert document["latest_run"] is None


def test_every_csv_table_has_a_header_and_its_rows() -> None:
    for name, (columns, _) in TABLES.items():
        out = io.StringIO()
        write_csv(FULL, name, out)
        header, *rows = list(csv.reader(io.StringIO(out.getvalue())))
        assert tuple(header) == tuple(columns)
        assert all(len(row) == len(columns) for row in rows), name


def test_durations_read_in_the_unit_that_fits() -> None:
    assert [seconds_text(s) for s in (42, 150, 7300, 200_000)] == ["42 s", "2.5 min", "2.0 h", "2.3 d"]


RUN = RunSummary(
    id=9, started_at=UNTIL - timedelta(minutes=10), finished_at=UNTIL - timedelta(minutes=1), status="ok",
    sources=("r1",), repos_ok=180, repos_failed=2, repos_gone=1, repos_flagged=0, pages=400, requests=800,
    jobs_seen=9000, inserted=120, updated=40, unchanged=8840, rejected=3, unknown_status=0, error=None,
    repos_full=20, repos_incremental=163, repos_reread=5, repos_left=17, requests_saved=2400, jobs_gone=6,
    id_conflicts=1, throttled=12, rate_reached=48.25, rate_learned=40.0, heartbeat_at=UNTIL,
)  # fmt: skip


def test_the_latest_run_shows_its_429s_rates_and_modes_in_every_form() -> None:
    line = latest_run_line(RUN)
    for part in (
        "Latest run 9: ok,", "800 requests, 12 throttled (429), 48.2 req/s reached, 40.0 req/s learned;",
        "163 incremental (5 re-read in full), 20 full, 2400 requests saved, 17 left for later",
        "1 id conflicts;", "6 jobs gone upstream",
    ):  # fmt: skip
        assert part in line, part
    assert "heartbeat" not in line  # only a running run says when it was last alive
    never = replace(RUN, status="running", rate_reached=None, rate_learned=None, throttled=0)
    assert "0 throttled (429), no rate reached, no rate learned;" in latest_run_line(never)
    assert ", last heartbeat 2026-03-08 00:00:00," in latest_run_line(never)

    page = render_html(replace(FULL, latest_run=RUN), stuck_after=timedelta(hours=1), now=UNTIL)
    assert "Latest run 9: ok" in page
    for part in (
        "800 sent, 2,400 saved by incremental crawls, 12 throttled (429, 1.5%)",
        "48.2 requests/s reached, 40.0 requests/s learned",
        "163 incremental (5 re-read in full), 20 full, 17 left for the next run",
        "started 2026-03-07 23:50, ended 2026-03-07 23:59 (9.0 min)",
    ):
        assert part in page, part
    running = render_html(
        replace(FULL, latest_run=replace(never, finished_at=None)), stuck_after=timedelta(1)
    )
    assert "still running, last heartbeat 2026-03-08 00:00" in running and "no rate reached" in running

    run = json.loads(to_json(replace(FULL, latest_run=RUN), stuck_after=timedelta(hours=1)))["latest_run"]
    assert (run["throttled"], run["rate_reached"], run["rate_learned"]) == (12, 48.25, 40.0)
    assert (run["repos_incremental"], run["repos_reread"], run["repos_full"], run["repos_left"]) == (
        163, 5, 20, 17
    )  # fmt: skip
    assert run["heartbeat_at"] == "2026-03-08T00:00:00+00:00"
