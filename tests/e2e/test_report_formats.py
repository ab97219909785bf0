"""Acceptance: `swr-etl report --format json|csv` against direct SQL over the window the output names."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from tests.e2e.helpers import cli_env, fetch, run_cli
from tests.e2e.reporting import crawl_demo_data

FAILED = "status IN ('failed', 'timeout')"


async def test_json_agrees_with_sql_over_the_window_it_names(database_url: str) -> None:
    await crawl_demo_data(database_url)
    result = await run_cli("report", "--format", "json", "--since", "20d", env=cli_env(database_url))
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    since, until = datetime.fromisoformat(report["since"]), datetime.fromisoformat(report["until"])
    assert since.utcoffset() is not None and until.utcoffset() is not None
    assert until - since == timedelta(days=20)

    window = "created_at >= $1 AND created_at < $2"
    by_status = {r["status"]: r["n"] for r in await fetch(
        database_url, f"SELECT status, count(*) AS n FROM sync_jobs WHERE {window} GROUP BY 1", since, until
    )}  # fmt: skip
    assert report["by_status"] == by_status and report["jobs"] == sum(by_status.values())
    [older] = await fetch(database_url, "SELECT count(*) AS n FROM sync_jobs WHERE created_at < $1", since)
    assert older["n"] > 0 and report["jobs"] > 0  # the window really cuts the history

    regions = await fetch(
        database_url,
        f"SELECT remote_region_id AS r, count(*) AS n, count(*) FILTER (WHERE {FAILED}) AS f"
        f" FROM sync_jobs WHERE {window} GROUP BY 1",
        since,
        until,
    )
    expected = {r["r"]: (r["n"], r["f"]) for r in regions}
    assert {r["remote_region_id"]: (r["jobs"], r["failed"]) for r in report["failure_rate_by_region"]} == (
        expected
    )
    for row in report["top_failing_repositories"]:
        [repo] = await fetch(
            database_url,
            f"SELECT count(*) FILTER (WHERE {FAILED}) AS f, count(*) AS n FROM sync_jobs"
            f" WHERE {window} AND region = $3 AND namespace = $4 AND repo_name = $5",
            since, until, row["region"], row["namespace"], row["repo_name"],
        )  # fmt: skip
        assert (row["failed"], row["jobs"]) == (repo["f"], repo["n"])
    [stuck] = await fetch(
        database_url,
        "SELECT count(*) AS n FROM sync_jobs WHERE status IN ('waiting', 'running')"
        " AND updated_at < now() - interval '1 hour'",
    )
    assert report["stuck_jobs"]["count"] == stuck["n"] > 0
    [run] = await fetch(database_url, "SELECT max(id) AS id FROM crawl_runs")
    assert report["latest_run"]["id"] == run["id"] and report["latest_run"]["status"] == "ok"
    [total] = await fetch(database_url, "SELECT count(*) AS n FROM sync_jobs")
    assert report["all_time"]["jobs"] == total["n"] > report["jobs"]


async def test_csv_prints_one_table_with_a_header(database_url: str) -> None:
    await crawl_demo_data(database_url)
    env = cli_env(database_url)
    as_json = await run_cli("report", "--format", "json", "--since", "2000-01-01", env=env)
    as_csv = await run_cli(
        "report", "--format", "csv", "--table", "failure_by_region", "--since", "2000-01-01", env=env
    )
    assert as_csv.code == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    expected = json.loads(as_json.stdout)["failure_rate_by_region"]
    assert [(r["remote_region_id"], int(r["jobs"]), int(r["failed"])) for r in rows] == [
        (r["remote_region_id"], r["jobs"], r["failed"]) for r in expected
    ]
    daily = await run_cli("report", "--format", "csv", "--table", "daily", env=env)
    header, *lines = daily.stdout.splitlines()
    assert header == "day,status,jobs" and lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "last week"), "neither a duration"),
        (("--since", "1d", "--until", "2d"), "must be before"),
        (("--format", "csv", "--table", "nope"), "--table 'nope'"),
        (("--html", "/nonexistent-folder/report.html"), "cannot write the HTML report to /nonexistent"),
    ],
)
async def test_a_bad_window_or_table_is_a_usage_error(
    database_url: str, args: tuple[str, ...], message: str
) -> None:
    result = await run_cli("report", *args, env=cli_env(database_url))
    assert result.code == 2 and result.stdout == ""
    assert message in result.stderr
