"""Acceptance: the three identities of a deployment, each through the CLI, and what each may not do.

The database is owned by a plain login role (no superuser, no CREATEROLE: the migrator), with CONNECT and
TEMPORARY revoked from PUBLIC as a hardened database has them; the crawler is a login member of
swr_etl_writer, the reporter a login member of swr_etl_reader. Credentials reach the CLI as files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from pipeline.simulator import SimulatorConfig, running_simulator
from tests import pg
from tests.e2e.helpers import REGION, assert_table_equals_truth, cli_env, fetch, run_cli
from tests.e2e.summary import summary_of
from tests.roles import READER, WRITER, ensure_group_roles, login_roles

SMALL = SimulatorConfig(port=0, seed=5, namespaces=3, repos_per_namespace=6, heavy_repos=1)


@dataclass(frozen=True)
class Deployment:
    """DSNs of one deployment's database: as the superuser (assertions) and as each identity."""

    admin: str
    owner: str
    crawler: str
    reporter: str


@pytest.fixture(scope="module")
async def deployment(pg_server_dsn: str) -> AsyncIterator[Deployment]:
    """A hardened database migrated by its owner through `swr-etl migrate`, and the two login roles."""
    await ensure_group_roles(pg_server_dsn)  # the operator's one-off step: the owner may not CREATE ROLE
    specs = [("owner", "NOSUPERUSER NOCREATEROLE"), ("crawler", f"IN ROLE {WRITER}")]
    async with login_roles(pg_server_dsn, *specs, ("reporter", f"IN ROLE {READER}")) as logins:
        owner = logins[0]
        name = f"{pg.unique_prefix()}_roles"
        admin = await pg.create_database(pg_server_dsn, name)
        try:
            conn = await asyncpg.connect(pg_server_dsn)
            try:
                await conn.execute(f'ALTER DATABASE "{name}" OWNER TO {owner.name}')
                await conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
            finally:
                await conn.close()
            dsns = [pg.with_database(login.dsn, name) for login in logins]
            migrated = await run_cli("migrate", env=cli_env(dsns[0]))
            assert migrated.code == 0, migrated.stderr
            yield Deployment(admin, *dsns)
        finally:
            await pg.drop_database(pg_server_dsn, name)


async def test_crawl_as_a_writer_and_report_as_a_reader_with_secrets_in_files(
    deployment: Deployment, tmp_path: Path
) -> None:
    url_file, token_file = tmp_path / "database-url", tmp_path / "token"
    url_file.write_text(deployment.crawler + "\n")  # as a Secret volume written from `echo` holds it
    async with running_simulator(SMALL) as sim:
        token_file.write_text(sim.state.config.token + "\n")
        env = cli_env(
            None,
            {
                "SWR_ETL_DATABASE_URL_FILE": str(url_file),
                "SWR_ETL_TOKEN_FILE": str(token_file),
                "SWR_ETL_ENDPOINT": sim.url,
                "SWR_ETL_REGION": REGION,
            },
        )
        first = await run_cli("crawl", env=env)
        assert first.code == 0, first.stderr
        truth = sim.ground_truth()
        await assert_table_equals_truth(deployment.admin, REGION, truth)
        # A re-crawl merges through the session temp table (TEMPORARY granted, PUBLIC's revoked).
        second = await run_cli("crawl", env={**env, "SWR_ETL_FULL": "1"})
        assert second.code == 0, second.stderr
        assert (summary_of(second.stdout).inserted, summary_of(second.stdout).jobs) == (0, len(truth))

    report = await run_cli("report", env=cli_env(deployment.reporter))
    assert report.code == 0, report.stderr
    assert f"All time: {len(truth)} jobs" in report.stdout
    runs = await fetch(deployment.admin, "SELECT status FROM crawl_runs ORDER BY id")
    assert [r["status"] for r in runs] == ["ok", "ok"]


WRITER_REFUSED = [
    "CREATE TABLE evil (id int)",
    "CREATE SCHEMA evil",
    "CREATE INDEX evil_idx ON sync_jobs (tag)",
    "ALTER TABLE sync_jobs ADD COLUMN evil int",
    "DROP TABLE sync_jobs",
    "DROP VIEW sync_job_durations",
    "DELETE FROM sync_jobs",
    "TRUNCATE crawl_runs",
    "UPDATE alembic_version SET version_num = 'evil'",
    "GRANT swr_etl_writer TO swr_etl_reader",
    "SELECT swr_etl_grant_roles()",
]

READER_REFUSED = [
    "INSERT INTO crawl_runs (sources) VALUES ('{}')",
    "UPDATE sync_jobs SET tag = tag",
    "DELETE FROM crawl_repositories",
    "TRUNCATE sync_job_rejects",
    "CREATE TABLE evil (id int)",
    "CREATE TEMP TABLE evil (id int)",  # no TEMPORARY: PUBLIC's was revoked and readers get none
    "SELECT nextval('crawl_runs_id_seq')",
]


@pytest.mark.parametrize("statement", WRITER_REFUSED)
async def test_the_writer_cannot_change_the_schema_nor_delete(deployment: Deployment, statement: str) -> None:
    conn = await asyncpg.connect(deployment.crawler)
    try:
        # What the crawl does needs no more: a temp table and an advisory lock.
        await conn.execute("CREATE TEMP TABLE scratch (id int)")
        assert await conn.fetchval("SELECT pg_try_advisory_lock(42)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.parametrize("statement", READER_REFUSED)
async def test_the_reader_cannot_write(deployment: Deployment, statement: str) -> None:
    conn = await asyncpg.connect(deployment.reporter)
    try:
        for relation in ("sync_jobs", "crawl_runs", "crawl_repositories", "sync_job_durations"):
            await conn.fetch(f"SELECT * FROM {relation} LIMIT 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()
