"""upsert_jobs on a real database: idempotent, newest-wins, atomic."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from pipeline import errors
from pipeline.store import Store, UpsertResult
from tests.integration.factories import make_job

REGION = "cn-north-4"


async def physical_rows(dsn: str) -> dict[int, tuple[str, str]]:
    """id -> (xmin, ctid): both change whenever PostgreSQL writes a new row version."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id, xmin::text AS xmin, ctid::text AS ctid FROM sync_jobs")
    finally:
        await conn.close()
    return {r["id"]: (r["xmin"], r["ctid"]) for r in rows}


async def row(dsn: str, job_id: int, region: str = REGION) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchrow("SELECT * FROM sync_jobs WHERE region = $1 AND id = $2", region, job_id)
    finally:
        await conn.close()
    assert found is not None
    return found


async def test_same_batch_twice_inserts_then_changes_nothing(store: Store, database_url: str) -> None:
    run1 = await store.start_run([REGION], {})
    run2 = await store.start_run([REGION], {})
    jobs = [make_job(i) for i in range(1, 201)]

    assert await store.upsert_jobs(REGION, run1, jobs) == UpsertResult(inserted=200, updated=0, unchanged=0)
    before = await physical_rows(database_url)
    assert await store.upsert_jobs(REGION, run2, jobs) == UpsertResult(inserted=0, updated=0, unchanged=200)

    assert await physical_rows(database_url) == before  # not one row rewritten
    assert (await row(database_url, 7))["last_run_id"] == run1
    assert await store.fetch_all_jobs(REGION) == jobs


async def test_older_observation_never_overwrites_newer(store: Store, database_url: str) -> None:
    run1 = await store.start_run([REGION], {})
    newer = make_job(1, updated=60, status="success")
    await store.upsert_jobs(REGION, run1, [newer])

    run2 = await store.start_run([REGION], {})
    stale = make_job(1, updated=30, status="running")
    assert await store.upsert_jobs(REGION, run2, [stale]) == UpsertResult(0, 0, 1)

    assert await store.fetch_all_jobs(REGION) == [newer]
    assert (await row(database_url, 1))["last_run_id"] == run1


async def test_newer_observation_updates_data_and_run(store: Store, database_url: str) -> None:
    run1 = await store.start_run([REGION], {})
    await store.upsert_jobs(REGION, run1, [make_job(1, status="running"), make_job(2)])
    first = await row(database_url, 1)

    run2 = await store.start_run([REGION], {})
    finished = make_job(1, updated=90, status="failed")
    assert await store.upsert_jobs(REGION, run2, [finished, make_job(2)]) == UpsertResult(0, 1, 1)

    after = await row(database_url, 1)
    assert after["status"] == "failed"
    assert after["updated_at"] == finished.updated_at
    assert after["last_run_id"] == run2
    assert after["first_seen_at"] == first["first_seen_at"]
    assert after["last_seen_at"] >= first["last_seen_at"]
    assert (await row(database_url, 2))["last_run_id"] == run1


async def test_changed_data_with_equal_updated_at_is_taken(store: Store) -> None:
    run = await store.start_run([REGION], {})
    await store.upsert_jobs(REGION, run, [make_job(1, tag="v1")])
    assert await store.upsert_jobs(REGION, run, [make_job(1, tag="latest")]) == UpsertResult(0, 1, 0)
    assert (await store.fetch_all_jobs(REGION))[0].tag == "latest"


async def test_duplicate_ids_in_one_batch_keep_the_latest(store: Store) -> None:
    run = await store.start_run([REGION], {})
    batch = [
        make_job(5, updated=10, status="running"),
        make_job(5, updated=50, status="success"),
        make_job(5, updated=20, status="waiting"),
        make_job(6),
    ]
    assert await store.upsert_jobs(REGION, run, batch) == UpsertResult(inserted=2, updated=0, unchanged=2)
    stored = {job.id: job for job in await store.fetch_all_jobs(REGION)}
    assert stored[5] == batch[1]


async def test_ids_are_unique_per_region_only(store: Store) -> None:
    run = await store.start_run([REGION, "ap-southeast-1"], {})
    await store.upsert_jobs(REGION, run, [make_job(1)])
    other = make_job(1, namespace="team-b")
    assert await store.upsert_jobs("ap-southeast-1", run, [other]) == UpsertResult(1, 0, 0)
    assert await store.fetch_all_jobs("ap-southeast-1") == [other]
    assert len(await store.fetch_all_jobs()) == 2


async def test_empty_batch_is_a_no_op(store: Store) -> None:
    assert await store.upsert_jobs(REGION, 1, []) == UpsertResult(0, 0, 0)


async def test_failing_batch_writes_nothing(store: Store) -> None:
    run = await store.start_run([REGION], {})
    bad = make_job(3)._replace(tag=None)  # type: ignore[arg-type]  # NOT NULL violated mid-batch
    with pytest.raises(errors.DatabaseError, match="writing sync jobs"):
        await store.upsert_jobs(REGION, run, [make_job(1), make_job(2), bad, make_job(4)])
    assert await store.fetch_all_jobs() == []
    # The connection (and its temp table) is still usable afterwards.
    assert await store.upsert_jobs(REGION, run, [make_job(1)]) == UpsertResult(1, 0, 0)


async def test_connection_lost_mid_batch_leaves_nothing_half_written(store: Store, database_url: str) -> None:
    run = await store.start_run([REGION], {})
    await store.upsert_jobs(REGION, run, [make_job(1)])
    blocker = await asyncpg.connect(database_url)
    try:
        # Hold job 1's row lock so the upsert stops after its COPY, inside its transaction.
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("SELECT 1 FROM sync_jobs WHERE id = 1 FOR UPDATE")
        batch = [make_job(1, updated=5, status="failed"), *(make_job(i) for i in range(2, 500))]
        pending = asyncio.ensure_future(store.upsert_jobs(REGION, run, batch))
        waiting_pid = None
        for _ in range(200):
            # pg_stat_activity is a per-transaction snapshot: clear it, we poll inside a transaction.
            await blocker.execute("SELECT pg_stat_clear_snapshot()")
            waiting_pid = await blocker.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO sync_jobs%'"
            )
            if waiting_pid is not None:
                break
            await asyncio.sleep(0.01)
        assert waiting_pid is not None
        await blocker.execute("SELECT pg_terminate_backend($1)", waiting_pid)
        with pytest.raises(errors.DatabaseUnavailable):
            await pending
        await tx.rollback()
    finally:
        await blocker.close()
    assert await store.fetch_all_jobs() == [make_job(1)]
    # The pool replaces the dead connection: the next batch goes through.
    assert (await store.upsert_jobs(REGION, run, batch)).inserted == 498


async def test_timestamps_keep_their_instant(store: Store) -> None:
    run = await store.start_run([REGION], {})
    job = make_job(1, updated=0.123456)
    await store.upsert_jobs(REGION, run, [job])
    (stored,) = await store.fetch_all_jobs(REGION)
    assert stored.updated_at - job.updated_at == timedelta(0)


async def test_concurrent_overlapping_batches_neither_deadlock_nor_duplicate(store: Store) -> None:
    run = await store.start_run([REGION], {})
    await store.upsert_jobs(REGION, run, [make_job(i) for i in range(1, 1001)])
    forward = [make_job(i, updated=10, status="failed") for i in range(1, 2001)]
    backward = [make_job(i, updated=20, status="cancel") for i in range(2000, 0, -1)]

    first, second = await asyncio.gather(
        store.upsert_jobs(REGION, run, forward), store.upsert_jobs(REGION, run, backward)
    )

    assert first.inserted + second.inserted == 1000
    assert first.updated + second.updated >= 1000  # the later observation always lands
    stored = await store.fetch_all_jobs(REGION)
    assert len(stored) == 2000
    assert {job.status for job in stored} == {"cancel"}


async def test_a_batch_that_clashes_midway_is_merged_whole(store: Store, database_url: str) -> None:
    """A new-looking batch COPYed straight in meets an existing job halfway: the attempt is undone and
    the general path merges the batch, so nothing is doubled, lost or counted twice."""
    run = await store.start_run([REGION], {})
    assert await store.upsert_jobs(REGION, run, [make_job(50)]) == UpsertResult(1, 0, 0)
    before = await physical_rows(database_url)

    batch = [make_job(i) for i in range(1, 101)]
    assert await store.upsert_jobs(REGION, run, batch) == UpsertResult(inserted=99, updated=0, unchanged=1)

    assert await store.fetch_all_jobs(REGION) == batch
    assert (await physical_rows(database_url))[50] == before[50]


async def test_every_sequence_of_new_mixed_and_seen_batches_ends_in_the_latest_data(store: Store) -> None:
    run = await store.start_run([REGION], {})
    batches = [
        ([make_job(i) for i in range(1, 101)], UpsertResult(100, 0, 0)),  # new
        ([make_job(i) for i in range(101, 201)], UpsertResult(100, 0, 0)),  # new again
        ([make_job(i) for i in range(150, 251)], UpsertResult(50, 0, 51)),  # mixed
        ([make_job(i) for i in range(251, 301)], UpsertResult(50, 0, 0)),  # new after a clash
        ([make_job(i, updated=99, status="failed") for i in range(1, 11)], UpsertResult(0, 10, 0)),
        ([make_job(i) for i in range(301, 311)], UpsertResult(10, 0, 0)),
        ([make_job(i) for i in range(301, 311)], UpsertResult(0, 0, 10)),  # seen
    ]
    for batch, expected in batches:
        assert await store.upsert_jobs(REGION, run, batch) == expected

    stored = {job.id: job for job in await store.fetch_all_jobs(REGION)}
    assert sorted(stored) == list(range(1, 311))
    assert {stored[i].status for i in range(1, 11)} == {"failed"}
    assert stored[11] == make_job(11)


async def test_concurrent_new_batches_that_overlap_insert_each_job_once(store: Store) -> None:
    run = await store.start_run([REGION], {})
    low = [make_job(i) for i in range(1, 1001)]
    high = [make_job(i) for i in range(501, 1501)]

    first, second = await asyncio.gather(
        store.upsert_jobs(REGION, run, low), store.upsert_jobs(REGION, run, high)
    )

    assert first.inserted + second.inserted == 1500
    assert first.unchanged + second.unchanged == 500
    assert [job.id for job in await store.fetch_all_jobs(REGION)] == list(range(1, 1501))
