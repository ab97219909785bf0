"""Merging one batch of jobs into sync_jobs: the batch split into rounds of distinct ids, and the two ways
of writing a round (a straight COPY while batches turn out wholly new, else a merge through the temp table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import asyncpg

from pipeline.domain import SyncJob
from pipeline.store import queries as q

# The runtime class is not generic; the alias exists for the type checker (asyncpg-stubs).
PoolConnection: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"


def merge_rounds(jobs: Sequence[SyncJob]) -> list[list[SyncJob]]:
    """The batch as rounds of one job per id (ON CONFLICT cannot touch a row twice in one statement).

    Each id keeps its newest observation (one without updated_at is not known to be older: the later one
    wins). A job claiming an id that an earlier job of another repository holds goes to a later round,
    where it meets that row as an identity conflict, as it would in a later batch.
    """
    latest: dict[int, SyncJob] = {}
    claimed: list[SyncJob] = []
    for job in jobs:
        seen = latest.get(job.id)
        if seen is None:
            latest[job.id] = job
        elif (job.namespace, job.repo_name) != (seen.namespace, seen.repo_name):
            claimed.append(job)
        elif job.updated_at is None or seen.updated_at is None or job.updated_at >= seen.updated_at:
            latest[job.id] = job
    return [list(latest.values()), *(merge_rounds(claimed) if claimed else [])]


async def insert_new(
    conn: PoolConnection, region: str, run_id: int, records: Sequence[SyncJob]
) -> int | None:
    """COPY a batch believed new straight into sync_jobs; None (nothing written) if a job exists."""
    try:
        async with conn.transaction():  # a savepoint: a clash undoes this attempt only
            # Plain tuples, as for the staged COPY in merge().
            head = (region, run_id)
            await conn.copy_records_to_table(
                q.JOBS_TABLE, records=[head + r for r in records], columns=q.NEW_JOB_COLUMNS
            )
    except asyncpg.UniqueViolationError:
        return None
    return len(records)


async def merge(
    conn: PoolConnection, region: str, run_id: int, records: Sequence[SyncJob]
) -> tuple[int, int, int]:
    """Merge a batch of distinct ids through the temp table: (inserted, updated, id conflicts)."""
    # Plain tuples: asyncpg reads a tuple subclass (SyncJob) field by field through __getitem__, about
    # 8,000 more instructions per row (callgrind).
    plain = [tuple(r) for r in records]
    await conn.copy_records_to_table(q.INCOMING_TABLE, records=plain, columns=q.JOB_COLUMNS)
    row = await conn.fetchrow(q.UPSERT_JOBS, region, run_id)
    assert row is not None
    return int(row["inserted"]), int(row["updated"]), int(row["id_conflicts"])
