"""Acceptance: incremental crawls through the CLI against the simulator, upstream changing between runs."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.simulator import SimulatorConfig, SimulatorHandle, running_simulator
from tests.e2e.helpers import (
    REGION,
    assert_table_equals_truth,
    fetch,
    run_cli,
    sim_env,
    table_rows,
    truth_rows,
)
from tests.e2e.summary import Summary, summary_of

# 30 repositories, one heavy; pages of 10 jobs, so that most repositories hold several pages.
ACCOUNT = SimulatorConfig(port=0, seed=5, namespaces=3, repos_per_namespace=10, heavy_repos=1)
PAGE = "10"


async def crawl(sim: SimulatorHandle, database_url: str, *args: str, **env: str) -> Summary:
    """One `swr-etl crawl` that must end ok; its summary."""
    result = await run_cli("crawl", *args, env=sim_env(sim, database_url, SWR_ETL_PAGE_SIZE=PAGE, **env))
    assert result.code == 0, result.stderr[-3000:]
    return summary_of(result.stdout)


def statuses(truth: list[dict[str, Any]]) -> dict[int, str]:
    return {int(job["id"]): str(job["status"]) for job in truth}


async def recorded_changes(database_url: str, run_id: int) -> set[tuple[int, str, str]]:
    rows = await fetch(
        database_url, "SELECT job_id, old_status, new_status FROM sync_job_changes WHERE run_id = $1", run_id
    )
    return {(r["job_id"], r["old_status"], r["new_status"]) for r in rows}


async def test_an_ordinary_crawl_reads_what_changed_and_records_every_status_change(
    database_url: str,
) -> None:
    async with running_simulator(ACCOUNT) as sim:
        repos = len(sim.repositories())
        first = await crawl(sim, database_url)
        assert (first.full, first.incremental) == (repos, 0)  # every repository is new
        full_requests = sim.stats()["requests_by_endpoint"]["sync_job"]
        assert full_requests >= 2.5 * repos  # several pages per repository: the comparison means something
        before = statuses(sim.ground_truth())
        for _ in range(30):  # new waiting jobs; recent jobs move on (waiting → running → final)
            sim.live_tick()
        truth = sim.ground_truth()
        after = statuses(truth)
        changed = {(i, before[i], after[i]) for i in before if before[i] != after[i]}
        assert changed and len(after) > len(before)
        sim.reset_stats()

        second = await crawl(sim, database_url)

        await assert_table_equals_truth(database_url, REGION, truth)
        assert second.incremental + second.reread == repos and second.full == 0
        assert second.inserted == len(after) - len(before)
        sent = sim.stats()["requests_by_endpoint"]["sync_job"]
        assert sent <= full_requests / 2, (sent, full_requests)
        assert sent <= 1.5 * repos  # about one request per repository; a few changed ones need two
        assert second.saved > 0
        assert await recorded_changes(database_url, second.run_id) == changed

        sim.reset_stats()
        third = await crawl(sim, database_url)  # nothing changed: one request per repository
        assert (third.incremental, third.inserted, third.updated) == (repos, 0, 0)
        assert sim.stats()["requests_by_endpoint"]["sync_job"] == repos
    (run,) = await fetch(
        database_url,
        "SELECT repos_full, repos_incremental, repos_reread, requests_saved FROM crawl_runs WHERE id = $1",
        third.run_id,
    )
    saved = full_requests - repos
    assert dict(run) == {
        "repos_full": 0,
        "repos_incremental": repos,
        "repos_reread": 0,
        "requests_saved": saved,
    }


async def test_full_crawls_converge_after_old_changes_and_keep_jobs_deleted_upstream(
    database_url: str,
) -> None:
    async with running_simulator(ACCOUNT) as sim:
        repos = len(sim.repositories())
        await crawl(sim, database_url)
        old_changes = set(sim.change_old_statuses(5))
        # An ordinary crawl sees those on the pages it reads (small repositories, or above an open job);
        # those further down, below the high-water mark and every open job, wait for a full crawl.
        ordinary = await crawl(sim, database_url)
        assert ordinary.incremental == repos
        rows = await table_rows(database_url, REGION)
        stale = {i for i, expected in truth_rows(sim.ground_truth()).items() if rows[i] != expected}
        assert stale and stale < {job_id for job_id, _, _ in old_changes}

        deleted = set(sim.delete_oldest(2))
        full = await crawl(sim, database_url, "--full")

        assert (full.full, full.incremental, full.jobs_gone) == (repos, 0, len(deleted))
        truth = sim.ground_truth()
        rows = await table_rows(database_url, REGION)
        assert rows.keys() == truth_rows(truth).keys() | deleted  # the deleted jobs stay
        assert {i: rows[i] for i in truth_rows(truth)} == truth_rows(truth)
        marked = await fetch(database_url, "SELECT id FROM sync_jobs WHERE gone_upstream_at IS NOT NULL")
        assert {r["id"] for r in marked} == deleted
        kept_changes = {c for c in old_changes if c[0] not in deleted}
        assert await recorded_changes(database_url, full.run_id) == kept_changes

        # run.full_every: a repository whose last full crawl is older is read in full (and retention's
        # next deletions are noticed). Incremental checks would re-read them anyway: the total shrank.
        more = set(sim.delete_oldest(1))
        due = await crawl(sim, database_url, SWR_ETL_FULL_EVERY="0.001")
        assert (due.full, due.incremental, due.reread, due.jobs_gone) == (repos, 0, 0, len(more))
        shrunk = await crawl(sim, database_url)  # no deletions since: incremental holds again
        assert shrunk.incremental == repos


async def test_an_api_ignoring_order_gets_full_crawls(database_url: str) -> None:
    async with running_simulator(replace(ACCOUNT, ignore_order=True)) as sim:
        with_jobs = sum(1 for n in _jobs_per_repo(sim).values() if n >= 2)
        await crawl(sim, database_url)
        for _ in range(10):
            sim.live_tick()
        second = await crawl(sim, database_url)
        # Each first page came oldest first: detected, and the repository re-read in full.
        assert second.reread >= with_jobs
        await assert_table_equals_truth(database_url, REGION, sim.ground_truth())


def _jobs_per_repo(sim: SimulatorHandle) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for job in sim.ground_truth():
        key = (str(job["namespace"]), str(job["repoName"]))
        counts[key] = counts.get(key, 0) + 1
    return counts


# 200 repositories at 40 ms a request, 2 in flight: a full crawl takes several times the cap below.
SLOW = SimulatorConfig(port=0, seed=11, namespaces=8, repos_per_namespace=25, heavy_repos=2, latency_ms=40)
CAP_S = 3.0
# What a capped run may take beyond its cap: interpreter start-up and the schema check (before the run
# starts counting), then closing; generous, as the machine running the tests may be busy.
MARGIN_S = 10.0


async def test_capped_runs_end_on_time_and_together_cover_the_account(
    database_url: str, tmp_path: Path
) -> None:
    # Repositories in flight in proportion to the requests in flight (the defaults are 64 and 32): far
    # more would queue every repository's next page behind all the others' and cut them all.
    config = tmp_path / "swr-etl.toml"
    config.write_text("[http]\nconcurrency = 2\nrepos_in_flight = 4\n")
    async with running_simulator(SLOW) as sim:
        repos = len(sim.repositories())
        env = sim_env(sim, database_url, SWR_ETL_CONFIG=str(config))
        lefts: list[int] = []
        covered: list[int] = []
        while len(covered) < 8 and (not covered or covered[-1] < repos):
            started = asyncio.get_running_loop().time()
            result = await run_cli("crawl", "--max-duration", str(CAP_S), env=env)
            took = asyncio.get_running_loop().time() - started
            assert result.code == 0, result.stderr[-3000:]
            summary = summary_of(result.stdout)
            assert summary.status == "ok"
            assert summary.seconds <= CAP_S + 1.0, summary
            assert took <= CAP_S + MARGIN_S, took
            lefts.append(summary.left)
            (count,) = await fetch(
                database_url, "SELECT count(*) FROM crawl_repositories WHERE last_success_at IS NOT NULL"
            )
            covered.append(count[0])
        assert lefts[0] > repos / 2, lefts  # the cap really cut the first run short
        # Stalest first: each run began with the repositories never crawled, until none was left.
        assert covered[-1] == repos and len(covered) >= 3, covered
        await assert_table_equals_truth(database_url, REGION, sim.ground_truth())
    runs = await fetch(database_url, "SELECT status, repos_left FROM crawl_runs ORDER BY id")
    assert [(r["status"], r["repos_left"]) for r in runs] == [("ok", left) for left in lefts]
