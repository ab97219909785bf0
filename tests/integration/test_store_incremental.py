"""The store's side of incremental crawls: status history, repository states, jobs gone upstream."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pipeline.domain import Repository
from pipeline.incremental import RepoState
from pipeline.store import Store
from pipeline.writer import RepoOutcome
from tests.e2e.helpers import fetch
from tests.integration.factories import T0, make_job

REGION = "cn-north-4"
REPO = Repository("team-a", "web/frontend")  # make_job's repository


async def changes(database_url: str) -> list[tuple[int, str | None, str | None, object, int]]:
    rows = await fetch(
        database_url,
        "SELECT job_id, old_status, new_status, job_updated_at, run_id FROM sync_job_changes ORDER BY id",
    )
    return [tuple(row.values()) for row in rows]


async def test_every_status_change_is_recorded_once_with_the_upsert(store: Store, database_url: str) -> None:
    run1 = await store.start_run([REGION], {})
    await store.upsert_jobs(REGION, run1, [make_job(1, status="waiting"), make_job(2, status="waiting")])
    assert await changes(database_url) == []  # first seen: not a change
    run2 = await store.start_run([REGION], {})
    result = await store.upsert_jobs(
        REGION,
        run2,
        [
            make_job(1, status="running", updated=10),
            make_job(2, status="waiting", updated=5, tag="retagged"),  # changed, but not its status
            make_job(3, status="waiting"),
        ],
    )
    assert (result.inserted, result.updated) == (1, 2)
    assert await changes(database_url) == [(1, "waiting", "running", T0 + timedelta(seconds=10), run2)]
    # Seen again unchanged, or an older observation: no new row.
    await store.upsert_jobs(REGION, run2, [make_job(1, status="running", updated=10)])
    await store.upsert_jobs(REGION, run2, [make_job(1, status="waiting", updated=1)])
    assert len(await changes(database_url)) == 1


async def test_concurrent_batches_record_one_change_once(store: Store, database_url: str) -> None:
    run = await store.start_run([REGION], {})
    await store.upsert_jobs(REGION, run, [make_job(i, status="waiting") for i in range(1, 201)])
    batch = [make_job(i, status="success", updated=60) for i in range(1, 201)]
    await asyncio.gather(*(store.upsert_jobs(REGION, run, batch) for _ in range(4)))
    rows = await changes(database_url)
    assert len(rows) == 200
    assert {(r[1], r[2]) for r in rows} == {("waiting", "success")}


def full_outcome(ids: list[int], status: str = "ok") -> RepoOutcome:
    return RepoOutcome(REGION, REPO, status, total=len(ids), jobs_seen=len(ids), listed_ids=frozenset(ids))


async def test_a_full_crawl_marks_jobs_gone_upstream_and_keeps_them(store: Store, database_url: str) -> None:
    run = await store.start_run([REGION], {})
    await store.upsert_jobs(REGION, run, [make_job(i) for i in range(1, 6)])
    other = make_job(9, repo_name="other")
    await store.upsert_jobs(REGION, run, [other])
    assert await store.record_repo_results(run, [full_outcome([3, 4, 5])]) == 2
    gone = await fetch(
        database_url, "SELECT id FROM sync_jobs WHERE gone_upstream_at IS NOT NULL ORDER BY id"
    )
    assert [r["id"] for r in gone] == [1, 2]  # the other repository's job is not touched
    assert len(await store.fetch_all_jobs()) == 6  # kept: history is the point
    # Marked once; a job listed again loses its mark; a failed or flagged crawl marks nothing.
    assert await store.record_repo_results(run, [full_outcome([2, 3, 4, 5])]) == 0
    assert await store.record_repo_results(run, [full_outcome([], status="flagged")]) == 0
    gone = await fetch(
        database_url, "SELECT id FROM sync_jobs WHERE gone_upstream_at IS NOT NULL ORDER BY id"
    )
    assert [r["id"] for r in gone] == [1]


async def test_states_round_trip_and_move_only_with_a_crawl_that_read(store: Store) -> None:
    run = await store.start_run([REGION], {})
    ok = RepoOutcome(
        REGION, REPO, "ok", total=7, jobs_seen=7, full=True, high_water_id=70, high_water_created_at=T0,
        open_jobs=2, oldest_open_created_at=T0 - timedelta(hours=1),
    )  # fmt: skip
    await store.record_repo_results(run, [ok])
    (state,) = (await store.load_repo_states(REGION)).values()
    assert state.last_total == 7
    assert state.high_water == (T0, 70)
    assert (state.open_jobs, state.oldest_open_created_at) == (2, T0 - timedelta(hours=1))
    assert state.last_full_at is not None and state.last_success_at == state.last_full_at
    # A failure keeps the incremental state and the last success; an ok incremental crawl is no full one.
    await store.record_repo_results(run, [RepoOutcome(REGION, REPO, "failed", message="x", attempts=1)])
    after_failure = (await store.load_repo_states(REGION))[REPO]
    assert (after_failure.high_water, after_failure.open_jobs) == ((T0, 70), 2)
    assert after_failure.last_success_at == state.last_success_at
    incremental = RepoOutcome(
        REGION, REPO, "ok", total=8, jobs_seen=1, full=False, high_water_id=71, high_water_created_at=T0,
        open_jobs=0,
    )  # fmt: skip
    await store.record_repo_results(run, [incremental])
    latest = (await store.load_repo_states(REGION))[REPO]
    assert latest == RepoState(
        last_total=8, high_water_id=71, high_water_created_at=T0, open_jobs=0, oldest_open_created_at=None,
        last_full_at=state.last_full_at, last_success_at=latest.last_success_at,
    )  # fmt: skip
    assert latest.last_success_at is not None and state.last_success_at is not None
    assert latest.last_success_at >= state.last_success_at
