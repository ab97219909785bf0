"""Capped runs (run.max_duration) meeting discovery, failed listings and the run's other endings, through
the CLI: each ends on time with the status and exit code the README promises and counts what it left."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import asyncpg

from pipeline.simulator import SimulatorConfig, running_simulator
from tests.e2e.helpers import fetch, finish, run_cli, start_cli
from tests.e2e.resilience import DATASET, crawl_env, last_run, wait_for_line
from tests.e2e.summary import summary_of
from tests.e2e.test_crawl_lock import lock_backend, runs, terminate

# What a capped run may take beyond its cap: interpreter start-up and the schema check come first.
MARGIN_S = 10.0
# Ten namespaces of three repositories at ~0.5 s a request (0.25-0.75 s), read with time to spare (the
# FAST settings give up on a read after 0.5 s): listed one after the other, they take at least 2.75 s.
SLOW_LISTINGS = SimulatorConfig(port=0, seed=3, namespaces=10, repos_per_namespace=3, latency_ms=500)
PATIENT = {"SWR_ETL_CONCURRENCY": "1", "SWR_ETL_READ_TIMEOUT": "5"}


def run_finished(stderr: str) -> dict[str, Any]:
    """The `run_finished` event of a crawl's JSON log."""
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    [event] = [e for e in events if e.get("event") == "run_finished"]
    return dict(event)


async def test_a_deadline_during_discovery_leaves_the_repositories_found_for_later(database_url: str) -> None:
    # Sending stops 2.55 s into a 3 s run: after the first listings, before the last.
    async with running_simulator(SLOW_LISTINGS) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_MAX_DURATION="3", **PATIENT)
        result = await run_cli("crawl", env=env, wait_s=3 + MARGIN_S)
        repos = len(sim.repositories())

    assert result.code == 0, result.stderr[-3000:]
    summary = summary_of(result.stdout)
    finished = run_finished(result.stderr)
    assert summary.status == "ok" and summary.repositories == 0
    assert 0 < finished["repos_discovered"] < repos, finished  # the deadline really cut discovery
    # Every repository found is left for the next run, none forgotten.
    assert summary.left == finished["repos_left"] == finished["repos_discovered"]
    assert (await last_run(database_url))["repos_left"] == summary.left


async def test_a_capped_run_counts_a_failed_namespace_listing_apart_from_the_repositories_left(
    database_url: str,
) -> None:
    # 200 repositories at ~40 ms a request, 2 in flight: far more than a 3 s run reads.
    config = dataclasses.replace(DATASET, namespaces=8, repos_per_namespace=25, latency_ms=40.0)
    config = dataclasses.replace(config, forbidden_namespaces=1)
    async with running_simulator(config) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_CONCURRENCY="2", SWR_ETL_MAX_DURATION="3")
        result = await run_cli("crawl", env=env, wait_s=3 + MARGIN_S)
        [hidden] = sim.state.forbidden_namespaces()
        listed = [repo for repo in sim.repositories() if repo[0] != hidden]

    assert result.code == 3, result.stderr[-3000:]  # partial: the namespace's listing failed
    summary = summary_of(result.stdout)
    assert summary.status == "partial" and summary.failed == 1
    crawled = summary.repositories - summary.failed  # the failed one is the namespace, no repository
    assert 0 < crawled < len(listed)
    assert summary.left == len(listed) - crawled


async def test_a_deadline_among_throttled_requests_ends_ok_with_nothing_failed(database_url: str) -> None:
    # API Gateway's bucket at 20 calls/s and a Retry-After of 2 s on a share of the answers: when sending
    # stops, requests wait for their pace, their retry or the crawl's pause; none of them fails a repository.
    config = dataclasses.replace(DATASET, rate_limit=20.0, fault_429=0.1, retry_after_s=2.0)
    async with running_simulator(config) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_CONCURRENCY="8", SWR_ETL_MAX_DURATION="3")
        result = await run_cli("crawl", env=env, wait_s=3 + MARGIN_S)

    assert result.code == 0, result.stderr[-3000:]
    summary = summary_of(result.stdout)
    assert (summary.status, summary.failed) == ("ok", 0), summary
    assert summary.throttled > 0 and summary.left > 0, summary  # it met the limit, and the deadline
    assert summary.seconds <= 3 + 1.0, summary
    run = await last_run(database_url)
    assert (run["status"], run["repos_left"]) == ("ok", summary.left)


async def test_a_deadline_before_any_repository_finished_is_partial_when_one_failed(
    database_url: str,
) -> None:
    # The forbidden namespace is listed first (its 403 answers at ~0.5 s), then the deadline cuts the other
    # listings: one failure and everything else left for later is a partial run, not a failed one.
    async with running_simulator(dataclasses.replace(SLOW_LISTINGS, forbidden_namespaces=1)) as sim:
        [hidden] = sim.state.forbidden_namespaces()
        others = sorted({ns for ns, _ in sim.repositories()} - {hidden})
        namespaces = ",".join([hidden, *others])
        env = crawl_env(sim, database_url, SWR_ETL_MAX_DURATION="3", SWR_ETL_NAMESPACES=namespaces, **PATIENT)
        result = await run_cli("crawl", env=env, wait_s=3 + MARGIN_S)

    assert result.code == 3, result.stderr[-3000:]
    summary = summary_of(result.stdout)
    assert (summary.status, summary.repositories, summary.failed) == ("partial", 1, 1), summary
    assert summary.left > 0
    run = await last_run(database_url)
    assert (run["status"], run["error"]) == ("partial", None)


async def test_a_capped_run_that_lost_its_lock_to_another_crawl_fails_at_its_deadline(
    database_url: str,
) -> None:
    # The lock's connection dies and a second crawl runs to completion meanwhile; the lock is checked only
    # at the end, after the deadline cut the first crawl: that run must not report success.
    slow = dataclasses.replace(DATASET, latency_ms=100.0)  # ~5 s for a whole crawl at 2 in flight
    async with running_simulator(slow) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_DB_LOCK_CHECK_INTERVAL="600")
        first = await start_cli("crawl", env={**env, "SWR_ETL_CONCURRENCY": "2", "SWR_ETL_MAX_DURATION": "4"})
        await wait_for_line(first.stderr, '"run_started"')
        await terminate(database_url, await lock_backend(database_url))
        second = await run_cli("crawl", env={**env, "SWR_ETL_CONCURRENCY": "16"})
        first_result = await finish(first, wait_s=4 + MARGIN_S)

    assert second.code == 0, second.stderr[-3000:]
    assert first_result.code == 1, first_result.stderr[-3000:]
    summary = summary_of(first_result.stdout.split(" — ")[0])
    assert (summary.status, summary.run_id) == ("failed", 1)
    assert summary.left > 0  # the deadline, not the lock check, ended its crawl
    assert "run 2 of the same source started meanwhile" in first_result.stdout
    assert [run[:2] for run in await runs(database_url)] == [(1, "failed"), (2, "ok")]


async def test_a_deadline_while_the_writer_is_behind_counts_only_the_repositories_it_records(
    database_url: str, tmp_path: Path
) -> None:
    # Every upsert statement sleeps 0.3 s (a test-only trigger) and the queue holds two pages: the crawl
    # waits for the writer, and the deadline cancels repositories waiting to hand over their last page or
    # their outcome. Only those whose outcome reached the writer were crawled.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "CREATE FUNCTION slow_write() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$;"
            "CREATE TRIGGER slow_write AFTER INSERT ON sync_jobs"
            " FOR EACH STATEMENT EXECUTE FUNCTION slow_write()"
        )
    finally:
        await conn.close()
    config = tmp_path / "swr-etl.toml"
    config.write_text("[database]\nqueue_pages = 2\n")
    async with running_simulator(DATASET) as sim:
        env = crawl_env(
            sim, database_url, SWR_ETL_CONFIG=str(config), SWR_ETL_MAX_DURATION="3", SWR_ETL_BATCH_SIZE="10"
        )
        result = await run_cli("crawl", env=env, wait_s=3 + MARGIN_S)
        repos = len(sim.repositories())

    assert result.code == 0, result.stderr[-3000:]
    summary = summary_of(result.stdout)
    recorded = await fetch(
        database_url, "SELECT count(*) FROM crawl_repositories WHERE last_success_at IS NOT NULL"
    )
    assert 0 < summary.repositories < repos, summary
    assert summary.repositories == recorded[0][0]
    assert summary.left == repos - summary.repositories
