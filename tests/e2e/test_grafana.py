"""The Grafana dashboard: every panel's SQL, macros and template variables expanded as Grafana's PostgreSQL
data source does, runs against a real PostgreSQL holding demo data and returns rows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from tests.e2e.reporting import crawl_demo_data

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "swr-sync-jobs.json"
DATASOURCE = GRAFANA / "provisioning" / "datasources" / "swr-etl.yaml"


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def expand(sql: str, variables: dict[str, list[str]], since: datetime, until: datetime) -> str:
    """Grafana's macros for PostgreSQL and multi-value variables (quoted, comma-separated)."""
    stamp = {"from": f"'{since:%Y-%m-%dT%H:%M:%SZ}'", "to": f"'{until:%Y-%m-%dT%H:%M:%SZ}'"}
    sql = re.sub(r"\$__timeFilter\((\w+)\)", rf"\1 BETWEEN {stamp['from']} AND {stamp['to']}", sql)
    sql = sql.replace("$__timeFrom()", stamp["from"]).replace("$__timeTo()", stamp["to"])
    for name, values in variables.items():
        quoted = ",".join("'" + v.replace("'", "''") + "'" for v in values)
        sql = re.sub(rf"\$(\{{{name}\}}|{name}\b)", quoted, sql)
    assert "$" not in sql, f"a macro or variable the test does not expand: {sql}"
    return sql


def test_the_dashboard_has_the_panels_variables_and_data_source_it_promises() -> None:
    board = dashboard()
    panels = board["panels"]
    assert len(panels) >= 6
    [uid] = re.findall(r"^\s*uid:\s*(\S+)", DATASOURCE.read_text(), re.M)
    for panel in panels:
        assert panel["datasource"]["uid"] == uid and panel["targets"], panel["title"]
        assert all(t["rawSql"].strip() and t["datasource"]["uid"] == uid for t in panel["targets"])
    assert {v["name"] for v in board["templating"]["list"]} == {"region", "namespace"}
    time_filtered = [p for p in panels if "$__timeFilter(" in p["targets"][0]["rawSql"]]
    assert len(time_filtered) >= 5
    assert all("$region" in p["targets"][0]["rawSql"] for p in panels if p["id"] in {1, 2, 3, 4, 5, 9, 10})


async def test_every_panel_query_runs_on_demo_data_and_returns_rows(database_url: str) -> None:
    await crawl_demo_data(database_url)
    board = dashboard()
    until = datetime.now(UTC) + timedelta(seconds=1)  # Grafana's "now", in whole seconds, after the crawl
    since = until - timedelta(days=30)
    conn = await asyncpg.connect(database_url)
    try:
        variables = {}
        for variable in board["templating"]["list"]:
            values = [row[0] for row in await conn.fetch(variable["query"])]
            assert values, f"variable {variable['name']} has no values"
            variables[variable["name"]] = values
        for panel in board["panels"]:
            for target in panel["targets"]:
                rows = await conn.fetch(expand(target["rawSql"], variables, since, until))
                assert rows, f"panel {panel['title']!r} is empty on demo data"
                if target["format"] == "time_series":
                    assert "time" in rows[0], panel["title"]
        # The variables really filter: one namespace's jobs per day are fewer than everyone's.
        jobs_per_day = board["panels"][0]["targets"][0]["rawSql"]
        one = {**variables, "namespace": variables["namespace"][:1]}
        total_all = sum(r["jobs"] for r in await conn.fetch(expand(jobs_per_day, variables, since, until)))
        total_one = sum(r["jobs"] for r in await conn.fetch(expand(jobs_per_day, one, since, until)))
        assert 0 < total_one < total_all
        # Run health shows the latest run's 429s; the status-change panels count every change observed.
        panel = {p["title"]: p["targets"][0]["rawSql"] for p in board["panels"]}
        await conn.execute("UPDATE crawl_runs SET throttled = 17 WHERE id = (SELECT max(id) FROM crawl_runs)")
        [health] = await conn.fetch(expand(panel["Run health"], variables, since, until))
        assert health["429s (latest run)"] == 17
        changes = await conn.fetch(
            expand(panel["Status changes per day by transition"], variables, since, until)
        )
        observed = await conn.fetchval("SELECT count(*) FROM sync_job_changes")
        assert sum(r["changes"] for r in changes) == observed > 0
        assert {r["metric"].split(" → ")[0] for r in changes} <= {"waiting", "running"}  # live mode's moves
    finally:
        await conn.close()
