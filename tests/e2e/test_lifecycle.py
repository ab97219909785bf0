"""How a run ends when a step around the crawl fails: through the CLI, exit code and the run rows."""

from __future__ import annotations

import asyncio
import signal
import time

import asyncpg

from pipeline.simulator import running_simulator
from tests.e2e.helpers import fetch, finish, run_cli, start_cli
from tests.e2e.resilience import DATASET, crawl_env, last_run, wait_for_line
from tests.e2e.summary import summary_of
from tests.e2e.test_deadlines import PATIENT, SLOW_LISTINGS


async def test_a_failure_before_the_crawl_leaves_no_run_running(database_url: str) -> None:
    # Pruning the rejects fails (a test-only trigger refuses any DELETE on sync_job_rejects, as a role
    # without the grant would): the run ends 1, and no crawl_runs row stays 'running' behind it.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'deletes refused'; END $$;"
            "CREATE TRIGGER refuse_delete BEFORE DELETE ON sync_job_rejects"
            " FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete()"
        )
    finally:
        await conn.close()
    async with running_simulator(DATASET) as sim:
        result = await run_cli("crawl", env=crawl_env(sim, database_url))

    assert result.code == 1, result.stderr[-3000:]
    assert "deletes refused" in result.stderr
    runs = await fetch(database_url, "SELECT id, status FROM crawl_runs WHERE status = 'running'")
    assert runs == []


async def test_sigterm_during_discovery_ends_interrupted_with_the_repositories_found_left(
    database_url: str,
) -> None:
    # Namespaces listed one after the other at ~0.5 s a request: the signal comes mid-listing.
    async with running_simulator(SLOW_LISTINGS) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_GRACE_PERIOD="4", **PATIENT)
        proc = await start_cli("crawl", env=env)
        await wait_for_line(proc.stderr, '"namespaces_discovered"')
        async with asyncio.timeout(30):  # one request at a time: the third listing asked, two answered
            while True:
                if sim.stats()["requests_by_endpoint"].get("repos", 0) >= 3:
                    break
                await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        result = await finish(proc)
        exited_after = time.monotonic() - sent
        repos = len(sim.repositories())

    assert result.code == 143, result.stderr[-3000:]
    assert exited_after < 4.0  # within the grace period
    summary = summary_of(result.stdout)
    assert summary.status == "interrupted" and summary.repositories == 0
    run = await last_run(database_url)
    assert run["status"] == "interrupted" and run["finished_at"] is not None
    assert 0 < summary.left == run["repos_left"] < repos
