"""Acceptance: lenient records, strict identity, through `swr-etl crawl` against the simulator.

Sparse records and undocumented fields all land (NULLs and `extra`), none rejected; an id two repositories
serve is stored once and the other record kept aside and counted; rejects are kept once across runs and aged
out by `SWR_ETL_REJECTS_RETENTION_DAYS`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

import asyncpg
import orjson

from pipeline.simulator import SimulatorConfig, running_simulator
from tests.e2e.helpers import (
    DOCUMENTED,
    REGION,
    assert_table_equals_truth,
    fetch,
    run_cli,
    sim_env,
    table_rows,
    truth_rows,
)
from tests.e2e.summary import summary_of

SHAPES = SimulatorConfig(port=0, seed=23, namespaces=4, repos_per_namespace=10, heavy_repos=1)


async def test_sparse_records_and_undocumented_fields_all_land(database_url: str) -> None:
    config = replace(SHAPES, sparse_records=0.03, extra_fields=0.05)
    async with running_simulator(config) as sim:
        truth = sim.ground_truth()
        sparse = [j for j in truth if set(DOCUMENTED) - set(j) or None in j.values()]
        undocumented = [j for j in truth if set(j) - DOCUMENTED]
        # The dataset really has what the test is about, so equality below is not vacuous.
        assert 0.02 * len(truth) < len(sparse) < 0.05 * len(truth) and len(truth) > 1000
        assert any("updatedAt" not in j or j["updatedAt"] is None for j in sparse)
        assert len(undocumented) > 0.03 * len(truth)
        env = sim_env(sim, database_url)

        first = await run_cli("crawl", env=env)
        assert first.code == 0, first.stderr
        s1 = summary_of(first.stdout)
        assert (s1.status, s1.jobs, s1.inserted, s1.rejected) == ("ok", len(truth), len(truth), 0)
        await assert_table_equals_truth(database_url, REGION, truth)

        # Read again in full (an ordinary run would read the newest pages only): NULLs compare equal, so
        # there is nothing to write again.
        second = await run_cli("crawl", env={**env, "SWR_ETL_FULL": "1"})
        assert second.code == 0, second.stderr
        s2 = summary_of(second.stdout)
        assert (s2.jobs, s2.inserted, s2.updated, s2.rejected) == (len(truth), 0, 0, 0)

    rows = await table_rows(database_url, REGION)
    assert sum(1 for row in rows.values() if None in row.values() and row["extra"] is None) >= len(sparse) / 2
    assert sum(1 for row in rows.values() if row["extra"]) == len(undocumented)
    assert await fetch(database_url, "SELECT * FROM sync_job_rejects") == []
    (run,) = await fetch(database_url, "SELECT rejected, jobs_seen FROM crawl_runs WHERE id = $1", s1.run_id)
    assert (run["rejected"], run["jobs_seen"]) == (0, len(truth))


async def test_an_id_two_repositories_serve_is_stored_once_and_the_other_kept_aside(
    database_url: str,
) -> None:
    async with running_simulator(replace(SHAPES, shared_ids=3)) as sim:
        truth = sim.ground_truth()
        holders: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for job in truth:
            holders[job["id"]].append(job)
        shared = {i: jobs for i, jobs in holders.items() if len(jobs) > 1}
        claims = sum(len(jobs) - 1 for jobs in shared.values())
        assert shared and claims >= 1
        env = sim_env(sim, database_url)
        runs = [await run_cli("crawl", env=env) for _ in range(2)]

    summaries = []
    for result in runs:
        assert result.code == 0, result.stderr
        summaries.append(summary_of(result.stdout))
    assert [s.id_conflicts for s in summaries] == [claims, claims]  # counted by every run that meets them
    events = [orjson.loads(line) for line in runs[0].stderr.splitlines() if line.startswith("{")]
    assert sum(e["count"] for e in events if e.get("event") == "id_conflicts") == claims
    assert (summaries[1].inserted, summaries[1].updated) == (0, 0)  # the stored row never flips
    crawl_runs = await fetch(database_url, "SELECT id_conflicts FROM crawl_runs ORDER BY id")
    assert [r["id_conflicts"] for r in crawl_runs] == [claims, claims]

    expected, actual = truth_rows(truth), await table_rows(database_url, REGION)
    assert actual.keys() == expected.keys()
    assert all(actual[i] == expected[i] for i in expected if i not in shared)
    kept_aside = await fetch(
        database_url, "SELECT * FROM sync_job_conflicts ORDER BY id, namespace, repo_name"
    )
    assert len(kept_aside) == claims
    for job_id, jobs in shared.items():
        stored = actual[job_id]
        owner = next(
            j for j in jobs if (j["namespace"], j["repoName"]) == (stored["namespace"], stored["repo_name"])
        )
        assert truth_rows([owner])[job_id] == stored  # one holder's record, whole
        others = {(j["namespace"], j["repoName"]) for j in jobs if j is not owner}
        aside = [r for r in kept_aside if r["id"] == job_id]
        assert {(r["namespace"], r["repo_name"]) for r in aside} == others
        for row in aside:
            assert (row["stored_namespace"], row["stored_repo_name"]) == (
                owner["namespace"],
                owner["repoName"],
            )
            assert orjson.loads(row["record"])["tag"] == next(
                j["tag"]
                for j in jobs
                if (j["namespace"], j["repoName"]) == (row["namespace"], row["repo_name"])
            )
        assert {r["first_run_id"] for r in aside} == {summaries[0].run_id}
        assert {r["last_run_id"] for r in aside} == {summaries[1].run_id}


async def test_rejects_are_kept_once_across_runs_and_aged_out(database_url: str) -> None:
    bad = replace(SHAPES, bad_records=0.02)
    async with running_simulator(bad) as sim:
        corrupted = sim.corrupted_records()
        assert corrupted
        env = sim_env(sim, database_url, SWR_ETL_FULL="1")  # every run reads every page: meets every reject
        runs = [await run_cli("crawl", env=env) for _ in range(2)]
    assert [summary_of(r.stdout).rejected for r in runs] == [len(corrupted)] * 2  # met by each run
    rejects = await fetch(database_url, "SELECT run_id, recorded_at, last_seen_at FROM sync_job_rejects")
    assert len(rejects) == len(corrupted)  # kept once
    first_run = summary_of(runs[0].stdout).run_id
    assert {r["run_id"] for r in rejects} == {first_run}
    assert all(r["last_seen_at"] > r["recorded_at"] for r in rejects)

    # The server now serves those records valid: no run meets the rejects any more. A month passes.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE sync_job_rejects SET last_seen_at = now() - interval '31 days'")
    finally:
        await conn.close()
    async with running_simulator(SHAPES) as sim:
        # 0 keeps every reject however old.
        kept = await run_cli("crawl", env=sim_env(sim, database_url, SWR_ETL_REJECTS_RETENTION_DAYS="0"))
        assert kept.code == 0, kept.stderr
        assert len(await fetch(database_url, "SELECT id FROM sync_job_rejects")) == len(corrupted)
        aged = await run_cli("crawl", env=sim_env(sim, database_url, SWR_ETL_REJECTS_RETENTION_DAYS="30"))
        assert aged.code == 0, aged.stderr
    assert await fetch(database_url, "SELECT id FROM sync_job_rejects") == []
    events = [orjson.loads(line) for line in aged.stderr.splitlines() if line.startswith("{")]
    pruned = [e for e in events if e.get("event") == "rejects_pruned"]
    assert [(e["count"], e["retention_days"]) for e in pruned] == [(len(corrupted), 30.0)]
