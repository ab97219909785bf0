"""The reporting views (migrations 0008 and 0012) answer what they are documented to answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from pipeline.domain import RunStats
from pipeline.store import Store
from tests.integration.factories import T0, make_job

DAY1, DAY2 = T0.date(), (T0 + timedelta(days=1)).date()


async def load(store: Store) -> tuple[int, int]:
    """Two days of jobs to two target regions, a stuck job, an ok run then a partial one."""
    ok = await store.start_run(["r1"], {})
    await store.finish_run(ok, "ok", RunStats(), None)
    partial = await store.start_run(["r1"], {})
    day2 = {"created_at": T0 + timedelta(days=1), "updated_at": T0 + timedelta(days=1, seconds=30)}
    now = datetime.now(UTC)
    jobs = [
        make_job(1, status="success", updated=60),
        make_job(2, status="success", updated=120),
        make_job(3, status="success", updated=600),
        make_job(4, status="failed", updated=5),
        make_job(5, status="timeout", remote_region_id="eu-west-0", updated=3600),
        make_job(6, status="success", remote_region_id="eu-west-0", **day2),
        make_job(
            7, status="running", created_at=now - timedelta(hours=3), updated_at=now - timedelta(hours=2)
        ),
    ]
    await store.upsert_jobs("r1", partial, jobs)
    stats = RunStats(
        repos_failed=2, requests=40, throttled=7, rate_reached=12.5, rate_learned=10.0, id_conflicts=1,
        repos_discovered=10, repos_full=1, repos_incremental=3, repos_reread=1, requests_saved=25,
        jobs_gone=4,
    )  # fmt: skip
    await store.finish_run(partial, "partial", stats, None)
    return ok, partial


async def query(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def test_daily_counts_and_failure_rates(database_url: str, store: Store) -> None:
    await load(store)
    daily = await query(database_url, "SELECT day, remote_region_id, status, jobs FROM sync_jobs_daily")
    assert {(r["day"], r["remote_region_id"], r["status"]): r["jobs"] for r in daily} == {
        (DAY1, "cn-south-1", "success"): 3,
        (DAY1, "cn-south-1", "failed"): 1,
        (DAY1, "eu-west-0", "timeout"): 1,
        (DAY2, "eu-west-0", "success"): 1,
        ((datetime.now(UTC) - timedelta(hours=3)).date(), "cn-south-1", "running"): 1,
    }
    rates = await query(
        database_url, "SELECT * FROM sync_failure_rate_daily WHERE day <= $$2025-03-02$$ ORDER BY day, 2"
    )
    assert [
        (r["day"], r["remote_region_id"], r["jobs"], r["failed"], float(r["failure_rate"])) for r in rates
    ] == [
        (DAY1, "cn-south-1", 4, 1, 0.25),
        (DAY1, "eu-west-0", 1, 1, 1.0),
        (DAY2, "eu-west-0", 1, 0, 0.0),
    ]


async def test_duration_percentiles_per_day_read_one_day_at_a_time(database_url: str, store: Store) -> None:
    await load(store)
    rows = await query(database_url, "SELECT * FROM sync_duration_daily ORDER BY day, remote_region_id")
    assert [
        (r["day"], r["remote_region_id"], r["jobs"], r["p50_seconds"], r["max_seconds"]) for r in rows
    ] == [
        (DAY1, "cn-south-1", 3, 120.0, 600),
        (DAY2, "eu-west-0", 1, 30.0, 30),
    ]
    assert rows[0]["p95_seconds"] == 552.0  # percentile_cont over 60, 120, 600
    # A filter on day reaches sync_jobs as a created_at range (the index), not a scan of every job.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in await conn.fetch("EXPLAIN SELECT * FROM sync_duration_daily WHERE day = '2025-03-01'")
        )
    finally:
        await conn.close()
    assert "sync_jobs_created_at_idx" in plan, plan


async def test_stuck_jobs_and_run_health(database_url: str, store: Store) -> None:
    ok, partial = await load(store)
    stuck = await query(database_url, "SELECT id, stuck_for FROM sync_jobs_stuck WHERE stuck_for > '1 hour'")
    assert [r["id"] for r in stuck] == [7] and timedelta(hours=2) <= stuck[0]["stuck_for"] < timedelta(
        hours=3
    )
    [health] = await query(database_url, "SELECT * FROM crawl_run_health")
    assert (health["run_id"], health["status"], health["repos_failed"], health["requests"]) == (
        partial,
        "partial",
        2,
        40,
    )
    assert health["last_ok_run_id"] == ok and health["since_last_ok"] > timedelta(0)
    # 0012's columns: the latest run's 429s, rates and modes (repos_left: 10 planned, 2 ended).
    assert {name: health[name] for name in list(health.keys())[18:-1]} == {
        "throttled": 7, "rate_reached": 12.5, "rate_learned": 10.0, "repos_full": 1, "repos_incremental": 3,
        "repos_reread": 1, "repos_left": 8, "requests_saved": 25, "jobs_gone": 4, "id_conflicts": 1,
    }  # fmt: skip
    assert health["heartbeat_at"] is not None


async def test_status_change_durations_per_day_region_and_transition(database_url: str, store: Store) -> None:
    """Each change is dated by the job's updatedAt (else when a crawl saw it) and timed from creation."""
    waiting = [make_job(i, status="waiting") for i in (1, 2, 3)]
    waiting.append(make_job(4, status="waiting", remote_region_id="eu-west-0"))
    for statuses in (
        waiting,
        [
            make_job(1, status="running", updated=60),
            make_job(2, status="running", updated=120),
            make_job(3, status="running", updated=600),
            make_job(4, status="success", remote_region_id="eu-west-0", updated=30),
        ],
        [
            make_job(1, status="success", updated=300),
            make_job(2, status="failed", updated=86_400 + 100),  # left running the next day
            make_job(3, status="success", updated_at=None),  # no updatedAt: dated when observed
        ],
    ):
        run = await store.start_run(["r1"], {})
        await store.upsert_jobs("r1", run, statuses)
        observed = datetime.now(UTC)
    rows = await query(database_url, "SELECT * FROM sync_job_status_durations ORDER BY day, 2, 3, 4")
    found = {
        (r["day"], r["remote_region_id"], r["old_status"], r["new_status"]): (
            r["changes"], r["p50_seconds"], r["p95_seconds"], float(r["max_seconds"])
        )
        for r in rows
    }  # fmt: skip
    unobserved = found.pop((observed.date(), "cn-south-1", "running", "success"))
    assert found == {
        (DAY1, "cn-south-1", "waiting", "running"): (3, 120.0, 552.0, 600.0),
        (DAY1, "cn-south-1", "running", "success"): (1, 300.0, 300.0, 300.0),
        (DAY1, "eu-west-0", "waiting", "success"): (1, 30.0, 30.0, 30.0),
        (DAY2, "cn-south-1", "running", "failed"): (1, 86_500.0, 86_500.0, 86_500.0),
    }
    assert unobserved[0] == 1
    assert 0 <= (observed - T0).total_seconds() - unobserved[1] < 60  # observed_at: the upsert's time
    # A filter on day reads the changes of that day through their index, not every change.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                "EXPLAIN SELECT * FROM sync_job_status_durations WHERE day >= '2025-03-02'"
            )
        )
    finally:
        await conn.close()
    assert "sync_job_changes_day_idx" in plan, plan
