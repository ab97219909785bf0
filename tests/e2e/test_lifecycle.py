"""How a run ends when a step around the crawl fails: through the CLI, exit code and the run rows."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import time

import asyncpg

from pipeline.simulator import SimulatorHandle, running_simulator
from tests.e2e.helpers import fetch, finish, run_cli, start_cli
from tests.e2e.resilience import DATASET, crawl_env, last_run, wait_for_line
from tests.e2e.summary import summary_of
from tests.e2e.test_deadlines import PATIENT, SLOW_LISTINGS


async def requests_arrived(sim: SimulatorHandle, endpoint: str, count: int) -> None:
    """Return once the simulator has received ``count`` requests of ``endpoint`` (at most 30 s)."""
    async with asyncio.timeout(30):
        while True:
            if sim.stats()["requests_by_endpoint"].get(endpoint, 0) >= count:
                return
            await asyncio.sleep(0.05)


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
        await requests_arrived(sim, "repos", 3)  # one at a time: the third listing asked, two answered
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


async def test_sigterm_after_only_forbidden_answers_is_an_interruption_not_refused_credentials(
    database_url: str,
) -> None:
    # Three forbidden repositories are asked first, one at a time; the signal comes while the third is
    # answered, so no other repository is asked. Three refusals among thirteen repositories prove nothing
    # about the credentials: the run was interrupted.
    config = dataclasses.replace(SLOW_LISTINGS, namespaces=2, repos_per_namespace=5, forbidden_repos=3)
    async with running_simulator(config) as sim:
        forbidden = sim.state.forbidden_repositories()
        others = [repo for repo in sim.repositories() if repo not in forbidden]
        listed = ",".join(f"{ns}/{name}" for ns, name in [*forbidden, *others])
        env = crawl_env(sim, database_url, SWR_ETL_REPOSITORIES=listed, SWR_ETL_GRACE_PERIOD="4", **PATIENT)
        proc = await start_cli("crawl", env=env)
        await requests_arrived(sim, "sync_job", 3)  # one at a time: the first two answered
        proc.send_signal(signal.SIGTERM)
        result = await finish(proc)

    assert result.code == 143, result.stderr[-3000:]
    summary = summary_of(result.stdout)
    assert (summary.status, summary.failed) == ("interrupted", 3), summary
    # (on a loaded machine the signal may come after a fourth repository was asked: it is crawled)
    assert summary.left + summary.repositories == len(forbidden) + len(others)


async def test_forbidden_repositories_scheduled_first_by_later_runs_are_not_refused_credentials(
    database_url: str,
) -> None:
    # Twelve of forty listed repositories answer 403. They are never crawled successfully, so every later
    # run schedules them first (stalest first): their refusals must not read as credentials refused.
    config = dataclasses.replace(DATASET, forbidden_repos=12)
    async with running_simulator(config) as sim:
        listed = ",".join(f"{ns}/{name}" for ns, name in sim.repositories())
        env = crawl_env(sim, database_url, SWR_ETL_REPOSITORIES=listed, SWR_ETL_CONCURRENCY="4")
        first = await run_cli("crawl", env=env)
        second = await run_cli("crawl", env={**env, "SWR_ETL_FULL": "1"})  # each read in full, in turn

    for result in (first, second):
        assert result.code == 3, result.stderr[-3000:]
        summary = summary_of(result.stdout)
        assert (summary.status, summary.repositories, summary.failed) == ("partial", 40, 12), summary


async def test_rates_that_cannot_be_remembered_leave_the_run_closed(database_url: str) -> None:
    # A throttled crawl learns a rate; storing it fails (a test-only trigger refuses crawl_rates writes):
    # the run is still closed with its own status, and the next run only has to find the rate again.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "CREATE FUNCTION refuse_rates() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'rates refused'; END $$;"
            "CREATE TRIGGER refuse_rates BEFORE INSERT OR UPDATE ON crawl_rates"
            " FOR EACH STATEMENT EXECUTE FUNCTION refuse_rates()"
        )
    finally:
        await conn.close()
    async with running_simulator(dataclasses.replace(DATASET, rate_limit=40.0)) as sim:
        result = await run_cli("crawl", env=crawl_env(sim, database_url, SWR_ETL_CONCURRENCY="8"))

    assert result.code == 0, result.stderr[-3000:]
    summary = summary_of(result.stdout)
    assert summary.status == "ok" and summary.throttled > 0 and summary.rate_learned is not None
    assert '"rates_not_remembered"' in result.stderr and "rates refused" in result.stderr
    run = await last_run(database_url)
    assert run["status"] == "ok"
    assert await fetch(database_url, "SELECT * FROM crawl_rates") == []
