"""Run `swr-etl` as a real subprocess and compare the database with the simulator's ground truth."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from pipeline.records import parse_rfc3339
from pipeline.simulator import SimulatorHandle

API_TO_COLUMN = {
    "namespace": "namespace",
    "repoName": "repo_name",
    "tag": "tag",
    "status": "status",
    "override": "override",
    "remoteRegionId": "remote_region_id",
    "remoteNamespace": "remote_namespace",
    "domainID": "domain_id",
    "domainName": "domain_name",
    "syncOperatorId": "sync_operator_id",
    "syncOperatorName": "sync_operator_name",
}


@dataclass(frozen=True)
class CliResult:
    """What a `swr-etl` process did."""

    code: int
    stdout: str
    stderr: str


REGION = "cn-north-4"


def sim_env(sim: SimulatorHandle, database_url: str, **extra: str) -> dict[str, str]:
    """CLI environment crawling ``sim`` with its static token into ``database_url``, labelled REGION."""
    settings = {
        "SWR_ETL_ENDPOINT": sim.url,
        "SWR_ETL_TOKEN": sim.state.config.token,
        "SWR_ETL_REGION": REGION,
    }
    return cli_env(database_url, {**settings, **extra})


def sources_file(path: Path, *sources: tuple[str, str, str]) -> Path:
    """Write a config file with one [[sources]] table per (endpoint, region, token); return its path."""
    tables = [
        f'[[sources]]\nendpoint = "{url}"\nregion = "{region}"\ntoken = "{token}"\n'
        for url, region, token in sources
    ]
    path.write_text("\n".join(tables))
    return path


def cli_env(database_url: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for the CLI: no SWR_ETL_* from the developer's shell leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWR_ETL_") and k != "DATABASE_URL"}
    env["SWR_ETL_LOG_FORMAT"] = "json"
    if database_url:
        env["SWR_ETL_DATABASE_URL"] = database_url
    env.update(extra or {})
    return env


async def start_cli(*args: str, env: Mapping[str, str]) -> asyncio.subprocess.Process:
    """Start `python -m pipeline ARGS` without blocking the event loop (the simulator may live in it)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pipeline", *args,
        env=dict(env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def finish(proc: asyncio.subprocess.Process, wait_s: float = 120.0) -> CliResult:
    """Wait for a started CLI process and collect its output."""
    try:
        out, err = await asyncio.wait_for(proc.communicate(), wait_s)
    except TimeoutError:
        proc.send_signal(signal.SIGKILL)
        out, err = await proc.communicate()
        raise AssertionError(
            f"swr-etl did not finish in {wait_s}s; stderr tail: {err.decode()[-2000:]}"
        ) from None
    assert proc.returncode is not None
    return CliResult(proc.returncode, out.decode(), err.decode())


async def run_cli(*args: str, env: Mapping[str, str], wait_s: float = 120.0) -> CliResult:
    """Run `swr-etl ARGS` to completion."""
    return await finish(await start_cli(*args, env=env), wait_s)


DOCUMENTED = {"id", "createdAt", "updatedAt", *API_TO_COLUMN}


def truth_rows(truth: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The simulator's ground truth keyed by id, in the table's column names and types (a field the API
    left out or null is None; undocumented fields are `extra`, None when there are none)."""
    rows = {}
    for job in truth:
        row = {column: job.get(key) for key, column in API_TO_COLUMN.items()}
        row["created_at"] = parse_rfc3339(job["createdAt"])
        row["updated_at"] = None if job.get("updatedAt") is None else parse_rfc3339(job["updatedAt"])
        row["extra"] = {k: v for k, v in job.items() if k not in DOCUMENTED} or None
        rows[int(job["id"])] = row
    return rows


async def table_rows(database_url: str, region: str) -> dict[int, dict[str, Any]]:
    """Every sync_jobs row of a region keyed by id, in the same shape as `truth_rows`."""
    columns = [*API_TO_COLUMN.values(), "created_at", "updated_at", "extra"]
    conn = await asyncpg.connect(database_url)
    try:
        records = await conn.fetch(
            f"SELECT id, {', '.join(columns)} FROM sync_jobs WHERE region = $1", region
        )
    finally:
        await conn.close()
    rows = {r["id"]: {c: r[c] for c in columns} for r in records}
    for row in rows.values():
        row["extra"] = None if row["extra"] is None else orjson.loads(row["extra"])
    return rows


async def assert_table_equals_truth(database_url: str, region: str, truth: list[dict[str, Any]]) -> None:
    """The table holds exactly the ground truth: same ids, every field equal."""
    expected, actual = truth_rows(truth), await table_rows(database_url, region)
    missing = expected.keys() - actual.keys()
    extra = actual.keys() - expected.keys()
    assert not missing and not extra, f"{len(missing)} jobs missing, {len(extra)} unexpected"
    differing = [i for i in expected if expected[i] != actual[i]]
    assert not differing, (
        f"{len(differing)} jobs differ, e.g. {expected[differing[0]]} != {actual[differing[0]]}"
    )


async def fetch(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one read query on the test database."""
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()
