"""Migration 0012: crawl_run_health only gains columns and keeps every grant; its downgrade gives back 0011's
schema exactly; the new view is read only for the group roles."""

from __future__ import annotations

import asyncpg

from pipeline import migrate
from tests.migration.schema import dump_schema
from tests.roles import READER, WRITER, login_roles

COLUMNS_0008 = [
    "run_id", "status", "started_at", "finished_at", "duration", "repos_ok", "repos_failed", "repos_gone",
    "repos_flagged", "requests", "jobs_seen", "inserted", "updated", "rejected", "error", "last_ok_run_id",
    "last_ok_at", "since_last_ok",
]  # fmt: skip
ADDED = [
    "throttled", "rate_reached", "rate_learned", "repos_full", "repos_incremental", "repos_reread",
    "repos_left", "requests_saved", "jobs_gone", "id_conflicts", "heartbeat_at",
]  # fmt: skip


async def columns(conn: asyncpg.Connection, view: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
        view,
    )
    return [r["column_name"] for r in rows]


async def test_run_health_gains_columns_keeps_grants_and_downgrades_to_0011_exactly(
    pg_server_dsn: str, empty_database_url: str
) -> None:
    await migrate.upgrade_async(empty_database_url, "0011")
    async with login_roles(pg_server_dsn, ("grafana", "")) as [grafana]:
        conn = await asyncpg.connect(empty_database_url)
        try:
            await conn.execute(f"GRANT SELECT ON crawl_run_health TO {grafana.name}")
            at_0011 = await dump_schema(empty_database_url)
            assert await columns(conn, "crawl_run_health") == COLUMNS_0008

            await migrate.upgrade_async(empty_database_url, "0012")
            assert await columns(conn, "crawl_run_health") == COLUMNS_0008 + ADDED
            grafana_reads = "SELECT has_table_privilege($1, 'crawl_run_health', 'SELECT')"
            assert await conn.fetchval(grafana_reads, grafana.name)  # an operator's grant survives

            await migrate.downgrade_async(empty_database_url, "0011")
            assert await dump_schema(empty_database_url) == at_0011
            assert await conn.fetchval(grafana_reads, grafana.name)
            await migrate.downgrade_async(
                empty_database_url, "0010"
            )  # 0008's view no longer holds 0010's column
        finally:
            await conn.execute(f"REVOKE ALL ON crawl_run_health FROM {grafana.name}")
            await conn.close()


async def test_the_group_roles_may_only_read_the_new_view(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for role in (WRITER, READER):
            held = [
                privilege
                for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE")
                if await conn.fetchval(
                    "SELECT has_table_privilege($1, 'sync_job_status_durations', $2)", role, privilege
                )
            ]
            assert held == ["SELECT"], role
    finally:
        await conn.close()
