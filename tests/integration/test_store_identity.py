"""Lenient records, strict identity, on a real database: sparse jobs and undocumented fields stored as they
came, an id claimed by another repository never overwriting the stored row, rejects kept once and aged out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import orjson

from pipeline.domain import Reject, Repository, RunStats
from pipeline.store import Store, UpsertResult, merge_rounds
from tests.integration.factories import make_job

REGION = "cn-north-4"
SPARSE = {
    "tag": None,
    "override": None,
    "remote_region_id": None,
    "remote_namespace": None,
    "domain_id": None,
    "domain_name": None,
    "sync_operator_id": None,
    "sync_operator_name": None,
    "updated_at": None,
}


async def fetch(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def test_sparse_jobs_and_undocumented_fields_round_trip(store: Store, database_url: str) -> None:
    run = await store.start_run([REGION], {})
    jobs = [
        make_job(1, **SPARSE),
        make_job(2, extra='{"syncAuto":true,"trigger":{"kind":"rule"}}'),
        make_job(3, tag=None, extra='{"注释":"同步"}'),
    ]
    assert await store.upsert_jobs(REGION, run, jobs) == UpsertResult(3, 0, 0)
    assert await store.fetch_all_jobs(REGION) == jobs
    (row,) = await fetch(
        database_url, "SELECT extra -> 'trigger' ->> 'kind' AS kind FROM sync_jobs WHERE id = 2"
    )
    assert row["kind"] == "rule"  # queryable jsonb, not text
    # The same sparse jobs again (general path): nothing changed, nothing rewritten.
    assert await store.upsert_jobs(REGION, run, jobs) == UpsertResult(0, 0, 3)


async def test_an_observation_without_updated_at_is_never_taken_for_an_older_one(store: Store) -> None:
    run = await store.start_run([REGION], {})
    await store.upsert_jobs(
        REGION, run, [make_job(1, status="running", updated=60), make_job(2, updated_at=None)]
    )
    # Stored with updatedAt, observed without: its age is unknown, the newer write wins.
    no_time = make_job(1, status="success", updated_at=None)
    # Stored without updatedAt, observed with it: taken too.
    with_time = make_job(2, status="failed", updated=120)
    assert await store.upsert_jobs(REGION, run, [no_time, with_time]) == UpsertResult(0, 2, 0)
    assert await store.fetch_all_jobs(REGION) == [no_time, with_time]
    # A known-older observation still never overwrites a newer one.
    assert await store.upsert_jobs(REGION, run, [make_job(2, status="running", updated=30)]) == UpsertResult(
        0, 0, 1
    )
    # Within one batch, the later of two observations without updatedAt wins.
    first, later = (
        make_job(3, status="waiting", updated_at=None),
        make_job(3, status="running", updated_at=None),
    )
    assert await store.upsert_jobs(REGION, run, [first, later]) == UpsertResult(1, 0, 1)
    assert (await store.fetch_all_jobs(REGION))[2] == later


async def test_an_id_claimed_by_another_repository_never_overwrites_the_stored_row(
    store: Store, database_url: str
) -> None:
    run1 = await store.start_run([REGION], {})
    stored = make_job(7, namespace="team-a", repo_name="web", status="running")
    await store.upsert_jobs(REGION, run1, [stored, make_job(8, namespace="team-a", repo_name="web")])
    before = await fetch(database_url, "SELECT * FROM sync_jobs WHERE id = 7")

    run2 = await store.start_run([REGION], {})
    claimant = make_job(7, namespace="team-b", repo_name="api", status="failed", updated=999, extra='{"x":1}')
    changed = make_job(8, namespace="team-a", repo_name="web", status="failed", updated=5)
    assert await store.upsert_jobs(REGION, run2, [claimant, changed]) == UpsertResult(0, 1, 0, id_conflicts=1)

    assert await fetch(database_url, "SELECT * FROM sync_jobs WHERE id = 7") == before  # data and run alike
    (conflict,) = await fetch(database_url, "SELECT * FROM sync_job_conflicts")
    assert (conflict["region"], conflict["id"], conflict["namespace"], conflict["repo_name"]) == (
        REGION, 7, "team-b", "api",
    )  # fmt: skip
    assert (conflict["stored_namespace"], conflict["stored_repo_name"]) == ("team-a", "web")
    record = orjson.loads(conflict["record"])
    assert (record["status"], record["extra"], record["tag"]) == ("failed", {"x": 1}, "v7")
    assert conflict["first_run_id"] == conflict["last_run_id"] == run2

    # Met again by a later run: counted again, still one row, now naming that run.
    run3 = await store.start_run([REGION], {})
    assert await store.upsert_jobs(REGION, run3, [claimant]) == UpsertResult(0, 0, 0, id_conflicts=1)
    (again,) = await fetch(database_url, "SELECT * FROM sync_job_conflicts")
    assert (again["first_run_id"], again["last_run_id"]) == (run2, run3)
    assert again["last_seen_at"] >= conflict["last_seen_at"]


async def test_two_repositories_claiming_one_id_in_one_batch(store: Store, database_url: str) -> None:
    run = await store.start_run([REGION], {})
    first = make_job(5, namespace="team-a", repo_name="web")
    other = make_job(5, namespace="team-b", repo_name="api")
    third = make_job(5, namespace="team-c", repo_name="db")
    batch = [first, other, make_job(6), third, make_job(5, namespace="team-b", repo_name="api", updated=9)]
    assert await store.upsert_jobs(REGION, run, batch) == UpsertResult(2, 0, 1, id_conflicts=2)
    assert [job for job in await store.fetch_all_jobs(REGION) if job.id == 5] == [first]
    rows = await fetch(database_url, "SELECT namespace, repo_name FROM sync_job_conflicts ORDER BY namespace")
    assert [(r["namespace"], r["repo_name"]) for r in rows] == [("team-b", "api"), ("team-c", "db")]


async def test_the_run_keeps_its_count_of_id_conflicts(store: Store, database_url: str) -> None:
    run = await store.start_run([REGION], {})
    await store.finish_run(run, "ok", RunStats(id_conflicts=3), None)
    (row,) = await fetch(database_url, "SELECT id_conflicts FROM crawl_runs")
    assert row["id_conflicts"] == 3


REPO = Repository("team-a", "web")


async def test_a_reject_met_by_two_runs_is_kept_once(store: Store, database_url: str) -> None:
    run1 = await store.start_run([REGION], {})
    rejects = [Reject('{"id":"x"}', "id: not an integer: 'x'"), Reject("bad\x00byte", "not JSON")]
    await store.record_rejects(REGION, run1, REPO, rejects)
    first = {r["raw"]: r for r in await fetch(database_url, "SELECT * FROM sync_job_rejects")}

    run2 = await store.start_run([REGION], {})
    await store.record_rejects(REGION, run2, REPO, [*rejects, Reject("[1", "truncated")])
    # The same raw text in another repository is another reject.
    await store.record_rejects(REGION, run2, Repository("team-b", "api"), rejects[:1])

    rows = await fetch(database_url, "SELECT * FROM sync_job_rejects ORDER BY id")
    assert len(rows) == 4
    again = {r["raw"]: r for r in rows if r["namespace"] == "team-a"}
    for raw, row in first.items():
        assert again[raw]["run_id"] == run1  # the run that first met it
        assert again[raw]["recorded_at"] == row["recorded_at"]
        assert again[raw]["last_seen_at"] >= row["last_seen_at"]


async def test_rejects_no_run_met_for_the_retention_are_pruned(store: Store, database_url: str) -> None:
    run = await store.start_run([REGION], {})
    await store.record_rejects(REGION, run, REPO, [Reject("old", "x"), Reject("recent", "y")])
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE sync_job_rejects SET last_seen_at = now() - interval '31 days' WHERE raw = 'old'"
        )
    finally:
        await conn.close()
    assert await store.prune_rejects(timedelta(days=30)) == 1
    assert [r["raw"] for r in await fetch(database_url, "SELECT raw FROM sync_job_rejects")] == ["recent"]
    # Met again, an old reject's clock restarts: it is not pruned.
    await store.record_rejects(REGION, run, REPO, [Reject("recent", "y")])
    assert await store.prune_rejects(timedelta(days=30)) == 0


def test_merge_rounds_keep_one_job_per_id_and_defer_other_repositories() -> None:
    a1, a2 = make_job(1, updated=10), make_job(1, updated=5)
    b1 = make_job(1, namespace="team-b")
    c1, b1_newer = make_job(1, namespace="team-c"), make_job(1, namespace="team-b", updated=99)
    none_first, none_later = make_job(2, updated_at=None, tag="x"), make_job(2, updated_at=None, tag="y")
    rounds = merge_rounds([a1, b1, a2, none_first, c1, b1_newer, none_later])
    assert rounds == [[a1, none_later], [b1_newer], [c1]]
