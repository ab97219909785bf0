"""A dying database: PostgreSQL (a test-owned embedded server) stopped before and during a crawl."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pipeline.embedded_db import EmbeddedPostgres
from pipeline.migrate import upgrade_to_head_async
from pipeline.simulator import running_simulator
from tests import pg
from tests.e2e.helpers import REGION, assert_table_equals_truth, fetch, finish, run_cli, start_cli
from tests.e2e.resilience import (
    DATASET,
    assert_repos_equal_truth,
    crawl_env,
    last_run,
    truth_of,
    wait_for_rows,
)

# Pages of 10 at ~40 ms, two in flight: a crawl of a few seconds, written page by page.
SLOW = dataclasses.replace(DATASET, latency_ms=40.0)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL this module may stop and start at will."""
    embedded = EmbeddedPostgres(tmp_path_factory.mktemp("dying-pg"))
    embedded.start()
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture
async def dsn(server: EmbeddedPostgres) -> AsyncIterator[str]:
    """A fresh migrated database on the module's server (which is running when the test starts)."""
    await asyncio.to_thread(server.start)
    name = pg.unique_prefix()
    url = await pg.create_database(server.dsn, name)
    await upgrade_to_head_async(url)
    yield url
    await asyncio.to_thread(server.start)
    await pg.drop_database(server.dsn, name)


def fatal_lines(stderr: str) -> list[str]:
    """The human lines of stderr (the JSON log lines aside)."""
    return [line for line in stderr.splitlines() if line and not line.startswith("{")]


async def test_unreachable_at_start_exits_1_with_one_line(server: EmbeddedPostgres, dsn: str) -> None:
    await asyncio.to_thread(server.stop)
    async with running_simulator(DATASET) as sim:
        started = time.monotonic()
        result = await run_cli("crawl", env=crawl_env(sim, dsn, SWR_ETL_DB_CONNECT_TIMEOUT="2"))
        took = time.monotonic() - started
        assert sim.stats()["requests_total"] == 0  # nothing is crawled that could not be stored

    assert result.code == 1
    assert took < 2 + 3  # the connect timeout, plus the interpreter's start-up
    lines = fatal_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("swr-etl: cannot connect to PostgreSQL"), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


async def test_lost_mid_run_fails_cleanly_and_the_next_run_converges(
    server: EmbeddedPostgres, dsn: str, tmp_path: Path
) -> None:
    config = tmp_path / "swr-etl.toml"
    config.write_text("[database]\nwrite_attempts = 2\nwrite_backoff_cap = 0.2\n")
    async with running_simulator(SLOW) as sim:
        truth = sim.ground_truth()
        env = crawl_env(
            sim,
            dsn,
            SWR_ETL_CONFIG=str(config),
            SWR_ETL_DB_CONNECT_TIMEOUT="1",
            SWR_ETL_CONCURRENCY="2",
        )
        proc = await start_cli("crawl", env=env)
        await wait_for_rows(dsn)
        await asyncio.to_thread(server.stop)
        stopped = time.monotonic()
        result = await finish(proc)
        took = time.monotonic() - stopped
        requests_at_exit = sim.stats()["requests_total"]

        assert result.code == 1, result.stderr
        assert took < 5.0  # two write attempts and a failed close, not a hang
        assert fatal_lines(result.stderr) == [], result.stderr  # events only: no traceback, no noise
        summary = result.stdout.splitlines()
        assert len(summary) == 1 and summary[0].startswith("run 1 failed: "), result.stdout
        assert "PostgreSQL" in summary[0] and "unavailable" in summary[0]
        assert "db_write_retry" in result.stderr, result.stderr  # retried before giving up
        await asyncio.sleep(0)
        assert sim.stats()["requests_total"] == requests_at_exit  # the crawl stopped with the writer

        await asyncio.to_thread(server.start)
        # No half-written batch: what is stored is true, and each repository recorded as crawled is whole.
        await assert_repos_equal_truth(dsn, truth, sim.repositories())
        done = await fetch(
            dsn, "SELECT namespace, repo_name FROM crawl_repositories WHERE last_status = 'ok'"
        )
        stored = {r["id"] for r in await fetch(dsn, "SELECT id FROM sync_jobs")}
        whole = truth_of(truth, [(r["namespace"], r["repo_name"]) for r in done])
        assert {j["id"] for j in whole} <= stored
        assert len(stored) < len(truth)

        rerun = await run_cli("crawl", env=env)

    assert rerun.code == 0, rerun.stderr
    await assert_table_equals_truth(dsn, REGION, truth)
    assert (await last_run(dsn))["status"] == "ok"
    # The run the lost database left 'running' is closed by the next run of the same configuration.
    runs = await fetch(dsn, "SELECT status, error FROM crawl_runs ORDER BY id")
    assert [r["status"] for r in runs] == ["failed", "ok"]
    assert "runs_abandoned" in rerun.stderr
