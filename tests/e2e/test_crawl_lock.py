"""The crawl lock's connection terminated mid-run (pg_terminate_backend) while a second crawl starts:
whichever way the race goes, the two crawls never both run to completion."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import asyncpg

from pipeline.simulator import SimulatorConfig, running_simulator
from pipeline.store import lock_id
from tests.e2e.helpers import (
    REGION,
    assert_table_equals_truth,
    cli_env,
    fetch,
    finish,
    run_cli,
    sources_file,
    start_cli,
)
from tests.e2e.resilience import DATASET, crawl_env, wait_for_line

# Pages of 10 at ~100 ms, two in flight: a crawl of ~5 s, long enough for a second crawl to start while
# the first one runs (the second one, 16 requests in flight, takes about a second).
SLOW = dataclasses.replace(DATASET, latency_ms=100.0)
SECOND = {"SWR_ETL_CONCURRENCY": "16"}
LOCK_APP = "swr-etl crawl lock"
TOKEN = SimulatorConfig().token


async def lock_backend(database_url: str, other_than: int | None = None) -> int:
    """The pid of the crawl's lock connection (a new one when ``other_than`` is given); waits up to 30 s."""
    async with asyncio.timeout(30):
        while True:
            rows = await fetch(
                database_url,
                "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid"
                " WHERE a.application_name = $1 AND l.locktype = 'advisory' AND l.granted"
                " AND a.datname = current_database()",
                LOCK_APP,
            )
            pids = [r["pid"] for r in rows if r["pid"] != other_than]
            if pids:
                return int(pids[0])
            await asyncio.sleep(0.05)


async def terminate(database_url: str, pid: int) -> None:
    """pg_terminate_backend, returning once the backend (and its session lock) is gone."""
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
    finally:
        await conn.close()


async def runs(database_url: str) -> list[tuple[int, str, str | None]]:
    rows = await fetch(database_url, "SELECT id, status, error FROM crawl_runs ORDER BY id")
    return [(r["id"], r["status"], r["error"]) for r in rows]


async def test_the_second_crawl_takes_the_lost_lock_and_the_first_one_stops(database_url: str) -> None:
    async with running_simulator(SLOW) as sim:
        truth = sim.ground_truth()
        # Checked only at the end of the run: the second crawl certainly starts while the lock is lost.
        env = crawl_env(sim, database_url, SWR_ETL_CONCURRENCY="2", SWR_ETL_DB_LOCK_CHECK_INTERVAL="600")
        first = await start_cli("crawl", env=env)
        await wait_for_line(first.stderr, '"run_started"')
        await terminate(database_url, await lock_backend(database_url))
        second = await run_cli("crawl", env={**env, **SECOND})
        first_result = await finish(first)

    assert second.code == 0, second.stderr
    assert first_result.code == 1, first_result.stderr
    assert "crawl_lock_lost" in first_result.stderr
    summary = first_result.stdout.strip()
    assert summary.startswith("run 1 failed: ") and "the crawl lock was lost" in summary, summary
    (one, two) = await runs(database_url)
    assert one[:2] == (1, "failed") and "this run stops" in (one[2] or "")
    assert two == (2, "ok", None)
    await assert_table_equals_truth(database_url, REGION, truth)  # the run that finished is complete


async def test_the_first_crawl_takes_its_lock_back_and_the_second_one_is_refused(database_url: str) -> None:
    async with running_simulator(SLOW) as sim:
        truth = sim.ground_truth()
        env = crawl_env(sim, database_url, SWR_ETL_CONCURRENCY="2", SWR_ETL_DB_LOCK_CHECK_INTERVAL="0.1")
        first = await start_cli("crawl", env=env)
        await wait_for_line(first.stderr, '"run_started"')
        lost = await lock_backend(database_url)
        await terminate(database_url, lost)
        await lock_backend(database_url, other_than=lost)  # taken back on a new connection
        second = await run_cli("crawl", env={**env, **SECOND})
        first_result = await finish(first)

    assert second.code == 75, second.stderr
    assert first_result.code == 0, first_result.stderr
    assert "crawl_lock_reacquired" in first_result.stderr
    assert await runs(database_url) == [(1, "ok", None)]  # the refused crawl opened no run
    await assert_table_equals_truth(database_url, REGION, truth)


async def test_a_lock_taken_over_mid_run_stops_the_crawl_at_the_next_check(database_url: str) -> None:
    async with running_simulator(SLOW) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_CONCURRENCY="2", SWR_ETL_DB_LOCK_CHECK_INTERVAL="0.1")
        ident = lock_id(f"swr-etl:{REGION}:{sim.url}")  # what `run.lock_key` names this source
        first = await start_cli("crawl", env=env)
        await wait_for_line(first.stderr, '"run_started"')
        other = await asyncpg.connect(database_url)
        try:
            # Another session queues for the lock: the moment the crawl's connection dies, it has it.
            waiting = asyncio.create_task(other.execute("SELECT pg_advisory_lock($1)", ident))
            await terminate(database_url, await lock_backend(database_url))
            await asyncio.wait_for(waiting, 10)
            result = await finish(first, wait_s=30)
            requests = sim.stats()["requests_total"]
        finally:
            await other.close()
        pages = len(sim.ground_truth()) / 10

    assert result.code == 1, result.stderr
    assert "another crawl of the same source holds it now" in result.stdout
    assert requests < pages / 2  # stopped at the next check, long before the end of the crawl
    assert (await runs(database_url))[0][1] == "failed"


async def test_a_crawl_of_one_source_waits_for_no_crawl_that_includes_it(
    database_url: str, tmp_path: Path
) -> None:
    """Locks are per source: while a crawl of two sources runs, a crawl of one of them exits 75 at once."""
    async with running_simulator(SLOW) as sim1, running_simulator(SLOW) as sim2:
        both = sources_file(
            tmp_path / "both.toml", (sim1.url, "region-one", TOKEN), (sim2.url, "region-two", TOKEN)
        )
        env = cli_env(database_url, {"SWR_ETL_CONCURRENCY": "2", "SWR_ETL_PAGE_SIZE": "10"})
        first = await start_cli("crawl", "--config", str(both), env=env)
        await wait_for_line(first.stderr, '"run_started"')
        one = sources_file(tmp_path / "one.toml", (sim2.url, "region-two", TOKEN))
        second = await run_cli("crawl", "--config", str(one), env=env)
        first_result = await finish(first)
    assert second.code == 75, second.stderr
    assert first_result.code == 0, first_result.stderr
    assert [status for _, status, _ in await runs(database_url)] == ["ok"]  # the second never opened a run
