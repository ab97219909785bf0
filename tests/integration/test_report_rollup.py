"""sync_job_daily (the report's all-time rollup) stays equal to a count over sync_jobs whatever writes them:
the crawler's COPY and merge, plain SQL, updates, deletes, TRUNCATE, a COPY restore, concurrent writers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from pipeline import migrate
from pipeline.store import Store
from tests.integration.factories import T0, make_job

# The rollup as a dict and the same count computed from the jobs themselves.
ROLLUP = "SELECT day, region, remote_region_id, status, jobs FROM sync_job_daily WHERE jobs <> 0"
DIRECT = """
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, region, remote_region_id, status, count(*) AS jobs
FROM sync_jobs GROUP BY 1, 2, 3, 4
"""
Counts = dict[tuple[object, ...], int]


async def counts(conn: asyncpg.Connection[asyncpg.Record], query: str) -> Counts:
    return {tuple(r)[:4]: r["jobs"] for r in await conn.fetch(query)}


async def assert_rollup_exact(conn: asyncpg.Connection[asyncpg.Record]) -> Counts:
    rollup, direct = await counts(conn, ROLLUP), await counts(conn, DIRECT)
    assert rollup == direct
    return rollup


async def test_crawler_writes_plain_sql_updates_and_deletes_keep_the_rollup_exact(
    database_url: str, store: Store
) -> None:
    run = await store.start_run(["r1"], {})
    day2 = {"created_at": T0 + timedelta(days=1)}
    await store.upsert_jobs("r1", run, [make_job(i, status="running") for i in range(1, 6)])  # COPY path
    await store.upsert_jobs(
        "r1", run, [make_job(1, status="success", updated=60), make_job(9, status="failed", **day2)]
    )  # merge path: one update (running -> success), one insert
    conn = await asyncpg.connect(database_url)
    try:
        rollup = await assert_rollup_exact(conn)
        assert rollup[(T0.date(), "r1", "cn-south-1", "running")] == 4
        assert rollup[(T0.date(), "r1", "cn-south-1", "success")] == 1

        # A backfill by hand, a change of target region and day, a delete: all by plain SQL.
        await conn.execute(
            "INSERT INTO sync_jobs SELECT 'r2', id + 100, namespace, repo_name, tag, 'timeout', override,"
            " 'eu-west-0', remote_namespace, domain_id, domain_name, sync_operator_id, sync_operator_name,"
            " created_at - interval '30 days', updated_at, first_seen_at, last_seen_at, last_run_id"
            " FROM sync_jobs"
        )
        await conn.execute(
            "UPDATE sync_jobs SET remote_region_id = 'ap-southeast-1', created_at = created_at + interval"
            " '2 days' WHERE id IN (2, 3)"
        )
        await conn.execute("DELETE FROM sync_jobs WHERE id = 4 OR id > 104")
        rollup = await assert_rollup_exact(conn)
        assert sum(rollup.values()) == 5 + 4  # r1: 6 less job 4; r2: 101-104
        assert rollup[((T0 + timedelta(days=2)).date(), "r1", "ap-southeast-1", "running")] == 2

        await conn.execute("TRUNCATE sync_jobs")
        assert await counts(conn, "SELECT * FROM sync_job_daily") == {}
    finally:
        await conn.close()


async def test_a_copy_restore_and_a_rebuild_leave_it_exact(database_url: str, store: Store) -> None:
    """A restore COPYs the rows back; a load with triggers off is repaired by rebuild_sync_job_daily()."""
    run = await store.start_run(["r1"], {})
    await store.upsert_jobs("r1", run, [make_job(i, status=("success", "failed")[i % 2]) for i in range(50)])
    conn = await asyncpg.connect(database_url)
    try:
        dumped = await conn.fetch("SELECT * FROM sync_jobs")
        before = await assert_rollup_exact(conn)
        await conn.execute("TRUNCATE sync_jobs")
        await conn.copy_records_to_table("sync_jobs", records=[tuple(r) for r in dumped])
        assert await assert_rollup_exact(conn) == before

        # Triggers do not fire for a replica-mode load (logical replication, pg_restore
        # --disable-triggers): the rollup is then stale until rebuilt.
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("UPDATE sync_jobs SET status = 'timeout' WHERE id < 10")
        await conn.execute("RESET session_replication_role")
        assert await counts(conn, ROLLUP) != await counts(conn, DIRECT)
        assert await conn.fetchval("SELECT rebuild_sync_job_daily()") == 3
        await assert_rollup_exact(conn)
    finally:
        await conn.close()


async def test_concurrent_writers_neither_deadlock_nor_lose_counts(database_url: str, store: Store) -> None:
    """Writers adding to the same rollup rows at once (hot keys: today, every status) keep exact counts."""
    run = await store.start_run(["r1"], {})
    statuses = ("success", "failed", "timeout", "running")

    async def writer(offset: int) -> None:
        for batch in range(8):
            # Each writer walks the statuses in its own order: row locks taken in the order written
            # would deadlock; the triggers sort their keys.
            order = statuses if offset % 2 else statuses[::-1]
            jobs = [make_job(offset + batch * 100 + i, status=order[i % 4]) for i in range(100)]
            await store.upsert_jobs("r1", run, jobs)

    await asyncio.wait_for(asyncio.gather(*(writer(n * 10_000) for n in range(4))), 120)
    conn = await asyncpg.connect(database_url)
    try:
        rollup = await assert_rollup_exact(conn)
    finally:
        await conn.close()
    assert sum(rollup.values()) == 4 * 8 * 100


async def test_the_migration_counts_the_jobs_already_there(empty_database_url: str) -> None:
    """A database with history before 0008: the rollup starts out equal to its jobs."""
    await migrate.upgrade_async(empty_database_url, "0004")
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute(
            "INSERT INTO sync_jobs (region, id, namespace, repo_name, tag, status, override,"
            " remote_region_id, remote_namespace, domain_id, domain_name, sync_operator_id,"
            " sync_operator_name, created_at, updated_at, last_run_id)"
            " SELECT 'r1', i, 'ns', 'repo', 't', (ARRAY['success', 'failed'])[1 + i % 2], false, 'eu-west-0',"
            " 'm', 'd', 'acme', 'u', 'alice', $1::timestamptz + i * interval '5 hours', $1, 1"
            " FROM generate_series(1, 40) AS i",
            T0,
        )
        await migrate.upgrade_to_head_async(empty_database_url)
        assert sum((await assert_rollup_exact(conn)).values()) == 40
    finally:
        await conn.close()
