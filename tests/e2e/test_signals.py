"""The process lifecycle: SIGTERM/SIGINT mid-crawl, and two crawls of the same source at once."""

from __future__ import annotations

import dataclasses
import signal
import time

import asyncpg
import pytest

from pipeline.simulator import running_simulator
from tests.e2e.helpers import REGION, assert_table_equals_truth, finish, run_cli, start_cli
from tests.e2e.resilience import (
    DATASET,
    assert_repos_equal_truth,
    crawl_env,
    last_run,
    wait_for_line,
    wait_for_rows,
)

# Every request waits ~40 ms and only two are in flight: the crawl takes a few seconds, time to stop it.
SLOW = dataclasses.replace(DATASET, latency_ms=40.0)
SLOW_CLIENT = {"SWR_ETL_CONCURRENCY": "2", "SWR_ETL_GRACE_PERIOD": "4"}


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
async def test_signal_mid_crawl_commits_and_marks_the_run_interrupted(
    database_url: str, signum: signal.Signals, code: int
) -> None:
    async with running_simulator(SLOW) as sim:
        truth = sim.ground_truth()
        env = crawl_env(sim, database_url, **SLOW_CLIENT)
        proc = await start_cli("crawl", env=env)
        await wait_for_rows(database_url)  # the crawl is under way and has committed a page
        proc.send_signal(signum)
        sent = time.monotonic()
        result = await finish(proc)
        exited_after = time.monotonic() - sent
        requests_at_exit = sim.stats()["requests_total"]

        assert result.code == code, result.stderr
        assert exited_after < 4.0  # within the grace period
        assert "stop_requested" in result.stderr
        run = await last_run(database_url)
        assert run["status"] == "interrupted" and run["finished_at"] is not None
        assert result.stdout.startswith(f"run {run['id']} interrupted: ")
        # What was committed is true, and the crawl really stopped short of the whole dataset.
        await assert_repos_equal_truth(database_url, truth, sim.repositories())
        assert run["jobs_seen"] < len(truth)
        assert sim.stats()["requests_total"] == requests_at_exit  # nothing left running behind it
        if signum != signal.SIGTERM:
            return
        rerun = await run_cli("crawl", env={**env, "SWR_ETL_CONCURRENCY": "8"})

    assert rerun.code == 0, rerun.stderr
    await assert_table_equals_truth(database_url, REGION, truth)
    assert (await last_run(database_url))["status"] == "ok"


async def test_a_second_crawl_of_the_same_source_exits_75(database_url: str) -> None:
    async with running_simulator(SLOW) as sim:
        env = crawl_env(sim, database_url, **SLOW_CLIENT)
        first = await start_cli("crawl", env=env)
        await wait_for_line(first.stderr, '"run_started"')  # it holds the lock
        started = time.monotonic()
        second = await run_cli("crawl", env=env)
        took = time.monotonic() - started
        first.send_signal(signal.SIGTERM)  # no need to wait for the whole crawl
        first_result = await finish(first)

    assert second.code == 75, second.stderr
    assert took < 5.0
    assert "another crawl of the same source is running" in second.stderr
    assert second.stdout == ""
    assert first_result.code == 143, first_result.stderr
    runs = await last_run(database_url)
    assert runs["id"] == 1  # the locked-out crawl opened no run


async def test_sigterm_while_the_writer_drains_still_ends_within_the_grace_period(database_url: str) -> None:
    # Every upsert statement sleeps 1 s (a test-only trigger on this test's own database): the fetching is
    # over long before the queue is written. A SIGTERM then must bound the drain by the grace period and
    # still close the run as interrupted, not leave it 'running' for the grace-period backstop to kill.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "CREATE FUNCTION slow_write() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;"
            "CREATE TRIGGER slow_write AFTER INSERT ON sync_jobs"
            " FOR EACH STATEMENT EXECUTE FUNCTION slow_write()"
        )
    finally:
        await conn.close()
    async with running_simulator(DATASET) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_GRACE_PERIOD="4", SWR_ETL_BATCH_SIZE="20")
        proc = await start_cli("crawl", env=env)
        await wait_for_line(proc.stderr, '"source_done"')  # every page fetched; the writer is behind
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        result = await finish(proc)
        exited_after = time.monotonic() - sent

    assert result.code == 143, result.stderr
    assert exited_after < 4.0
    run = await last_run(database_url)
    assert run["status"] == "interrupted" and run["finished_at"] is not None, dict(run)
    assert run["jobs_seen"] > run["inserted"]  # it really stopped with pages still unwritten
