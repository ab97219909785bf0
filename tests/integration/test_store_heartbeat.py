"""The heartbeat: counters written while a run goes, and runs whose heartbeat stopped closed as abandoned
by the next run whatever its configuration, with the counters of their last heartbeat."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from structlog.testing import capture_logs

from pipeline import heartbeat
from pipeline.domain import RunStats
from pipeline.store import Store

SAME = {"sources": [{"endpoint": "https://a.example", "region": "r1"}], "heartbeat_interval": 5.0}
OTHER = {"sources": [{"endpoint": "https://b.example", "region": "r2"}], "heartbeat_interval": 5.0}


class Counters:
    """A source client's counters, as ClientStats holds them."""

    def __init__(self, requests: int, throttled: int = 0) -> None:
        self.requests, self.throttled = requests, throttled


async def run_row(dsn: str, run_id: int) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT * FROM crawl_runs WHERE id = $1", run_id)
    finally:
        await conn.close()
    assert row is not None
    return dict(row)


async def until_jobs_seen(dsn: str, run_id: int, jobs: int) -> None:
    """Poll the run's row (at most 10 s) until it says ``jobs`` jobs seen."""
    async with asyncio.timeout(10):
        while True:
            if (await run_row(dsn, run_id))["jobs_seen"] == jobs:
                return
            await asyncio.sleep(0.02)


async def age_heartbeat(dsn: str, run_id: int, seconds: float | None) -> None:
    """Move a run's heartbeat ``seconds`` into the past (None: a row from before heartbeats)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "UPDATE crawl_runs SET heartbeat_at = now() - make_interval(secs => $2) WHERE id = $1",
            run_id,
            seconds,
        )
    finally:
        await conn.close()


async def test_a_heartbeat_writes_the_counters_so_far_and_never_over_a_closed_run(
    store: Store, database_url: str
) -> None:
    run_id = await store.start_run(["r1"], SAME)
    opened = await run_row(database_url, run_id)
    assert opened["heartbeat_at"] is not None  # a run killed before its first beat is judged too
    stats = RunStats(repos_ok=2, pages=9, jobs_seen=80, inserted=60, id_conflicts=1)
    stats.repos_incremental, stats.repos_full, stats.requests_saved, stats.repos_discovered = 1, 1, 7, 5
    stats.clients.append(Counters(11, throttled=3))
    await store.heartbeat(run_id, stats)
    row = await run_row(database_url, run_id)
    assert (row["repos_ok"], row["pages"], row["jobs_seen"], row["inserted"]) == (2, 9, 80, 60)
    assert row["requests"] == 11  # sent so far, before any source has ended
    # 429s (so far, from the clients), id conflicts and the modes are written while the run goes too.
    assert (row["throttled"], row["id_conflicts"]) == (3, 1)
    assert (row["repos_incremental"], row["repos_full"], row["requests_saved"], row["repos_left"]) == (
        1,
        1,
        7,
        3,
    )
    assert row["status"] == "running" and row["heartbeat_at"] > opened["heartbeat_at"]

    await store.finish_run(run_id, "ok", RunStats(repos_ok=3, jobs_seen=90), None)
    await store.heartbeat(run_id, stats)
    closed = await run_row(database_url, run_id)
    assert (closed["status"], closed["repos_ok"], closed["jobs_seen"]) == ("ok", 3, 90)


async def test_a_stale_run_of_another_configuration_is_closed_with_its_last_counters(
    store: Store, database_url: str
) -> None:
    dead = await store.start_run(["r2"], OTHER)
    await store.heartbeat(dead, RunStats(repos_ok=4, jobs_seen=321))
    await age_heartbeat(database_url, dead, 6 * 5.0 + 1)
    alive = await store.start_run(["r2"], OTHER)
    await age_heartbeat(database_url, alive, 6 * 5.0 - 5)  # late, not yet stale

    assert await store.close_abandoned_runs(["r1"], SAME, stale_beats=heartbeat.STALE_BEATS) == [dead]
    row = await run_row(database_url, dead)
    assert row["status"] == "failed" and "abandoned" in row["error"]
    assert (row["repos_ok"], row["jobs_seen"]) == (4, 321)
    assert row["finished_at"] == row["heartbeat_at"]  # the last time it was known alive
    assert (await run_row(database_url, alive))["status"] == "running"


async def test_a_run_from_before_heartbeats_is_closed_only_by_its_own_configuration(
    store: Store, database_url: str
) -> None:
    old = await store.start_run(["r2"], {"sources": OTHER["sources"]})
    await age_heartbeat(database_url, old, None)
    assert await store.close_abandoned_runs(["r1"], SAME, stale_beats=heartbeat.STALE_BEATS) == []
    assert await store.close_abandoned_runs(["r2"], OTHER, stale_beats=heartbeat.STALE_BEATS) == [old]


async def test_the_beat_task_writes_every_interval_until_cancelled(store: Store, database_url: str) -> None:
    run_id = await store.start_run(["r1"], SAME)
    stats = RunStats()
    task = asyncio.create_task(heartbeat.beat(store, run_id, stats, 0.05))
    try:
        for jobs in (10, 20):
            stats.jobs_seen = jobs
            await until_jobs_seen(database_url, run_id, jobs)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_a_failed_beat_is_logged_and_the_task_goes_on(store: Store) -> None:
    run_id = await store.start_run(["r1"], SAME)
    await store.close()  # every write now fails
    with capture_logs() as logs:
        task = asyncio.create_task(heartbeat.beat(store, run_id, RunStats(), 0.05))
        async with asyncio.timeout(10):
            while True:
                if sum(e["event"] == "heartbeat_failed" for e in logs) >= 2:
                    break
                await asyncio.sleep(0.02)
        assert not task.done()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
