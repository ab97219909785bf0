"""How a run ends when a step around the crawl fails: through the CLI, exit code and the run rows."""

from __future__ import annotations

import asyncpg

from pipeline.simulator import running_simulator
from tests.e2e.helpers import fetch, run_cli
from tests.e2e.resilience import DATASET, crawl_env


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
