"""The writer's pipelining: batches overlap, yet a repository's outcome is recorded only after every job
batch before it has committed, and a failed batch stops the writer. The store here is an in-memory
stand-in with controllable timing (the real store is covered by the integration and e2e suites)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from pipeline import writer as writer_module
from pipeline.domain import Repository, RunStats, SyncJob
from pipeline.errors import DatabaseUnavailable
from pipeline.settings import DatabaseSettings
from pipeline.store import UpsertResult
from pipeline.writer import Item, PageBatch, RepoOutcome, Writer
from tests.integration.factories import make_job

REPO_A, REPO_B = Repository("ns", "a"), Repository("ns", "b")


class MemoryStore:
    """Records the order of commits; `delays[first_job_id]` slows that batch; `fail_ids` make it fail."""

    def __init__(
        self, delays: dict[int, float] | None = None, fail_ids: frozenset[int] = frozenset()
    ) -> None:
        self.delays = delays or {}
        self.fail_ids = fail_ids
        self.events: list[tuple[str, Any]] = []
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    async def upsert_jobs(self, region: str, run_id: int, jobs: Sequence[SyncJob]) -> UpsertResult:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delays.get(jobs[0].id, 0.0))
            if self.fail_ids & {j.id for j in jobs}:
                raise DatabaseUnavailable("PostgreSQL at test unavailable")
            self.events.append(("jobs", sorted(j.id for j in jobs)))
            return UpsertResult(len(jobs), 0, 0)
        finally:
            self.in_flight -= 1

    async def record_rejects(self, *args: Any) -> None:
        raise AssertionError("no rejects in these tests")

    async def record_repo_results(self, run_id: int, outcomes: Sequence[RepoOutcome]) -> int:
        self.events.append(("outcomes", [o.repo.name for o in outcomes]))
        return 0


def settings(writers: int = 2) -> DatabaseSettings:
    return DatabaseSettings(batch_size=1, writers=writers, write_attempts=1)


async def write_all(store: MemoryStore, items: list[Item], writers: int = 2) -> RunStats:
    queue: asyncio.Queue[Item] = asyncio.Queue()
    for item in [*items, None]:
        queue.put_nowait(item)
    stats = RunStats()
    await Writer(store, 1, queue, stats, settings(writers)).run()
    return stats


def page(repo: Repository, *ids: int) -> PageBatch:
    return PageBatch("r", repo, [make_job(i) for i in ids])


async def test_an_outcome_waits_for_every_earlier_batch() -> None:
    # Batch 1 (job 1) is slow; batch 2 (job 2 and repo b's outcome) finishes first but must not record
    # b as done before batch 1 has committed: b's outcome comes after both job commits.
    store = MemoryStore(delays={1: 0.05})
    items: list[Item] = [page(REPO_A, 1), page(REPO_B, 2), RepoOutcome("r", REPO_B, "ok")]
    stats = await write_all(store, items)
    assert store.events[:2] == [("jobs", [2]), ("jobs", [1])]  # the batches really overlapped
    assert store.events[2:] == [("outcomes", ["b"])]
    assert stats.inserted == 2


async def test_writers_bound_the_batches_in_flight() -> None:
    store = MemoryStore(delays={i: 0.01 for i in range(1, 9)})
    await write_all(store, [page(REPO_A, i) for i in range(1, 9)], writers=2)
    assert store.peak == 2
    one = MemoryStore(delays={i: 0.01 for i in range(1, 5)})
    await write_all(one, [page(REPO_A, i) for i in range(1, 5)], writers=1)
    assert one.peak == 1


async def test_a_failed_batch_stops_the_writer_and_later_outcomes_are_not_recorded() -> None:
    store = MemoryStore(delays={1: 0.02}, fail_ids=frozenset({1}))
    items: list[Item] = [page(REPO_A, 1), page(REPO_B, 2), RepoOutcome("r", REPO_B, "ok")]
    items += [page(REPO_B, i) for i in range(3, 30)]
    with pytest.raises(DatabaseUnavailable):
        await write_all(store, items)
    assert ("outcomes", ["b"]) not in store.events
    assert store.calls <= 3  # the failure stops the writer: no storm of new batches against a dead database


async def test_a_dead_database_stops_the_writer_at_once() -> None:
    # Every write fails (the database is gone): the writer raises after the batches already in flight,
    # instead of starting a new batch (and a new round of retries) for everything still queued.
    store = MemoryStore(delays={1: 0.01}, fail_ids=frozenset(range(1, 40)))
    with pytest.raises(DatabaseUnavailable):
        await write_all(store, [page(REPO_A, i) for i in range(1, 40)])
    assert store.calls <= 3


def flush_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "Writer._flush"]  # type: ignore[union-attr]


async def test_a_failed_writer_leaves_no_batch_behind() -> None:
    # Batch 1 fails while batch 2 is still writing: when the writer raises, batch 2 has been cancelled and
    # awaited (the run closes the pool next), not left to finish (or fail unseen) on its own.
    store = MemoryStore(delays={1: 0.01, 2: 0.2}, fail_ids=frozenset({1}))
    queue: asyncio.Queue[Item] = asyncio.Queue()
    for item in (page(REPO_A, 1), page(REPO_B, 2)):  # more is still to come: no sentinel yet
        queue.put_nowait(item)
    with pytest.raises(DatabaseUnavailable):
        await Writer(store, 1, queue, RunStats(), settings()).run()
    assert flush_tasks() == []
    assert store.in_flight == 0


async def test_a_batch_lingers_for_pages_that_arrive_soon_after_its_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pages trickling in a few milliseconds apart go out together, not as one transaction each; a page
    # arriving after the linger starts the next batch; batch_size still caps a batch. (A long linger
    # here, so that a stall of a loaded machine cannot split the batches differently.)
    linger = 0.5
    monkeypatch.setattr(writer_module, "LINGER_S", linger)
    store = MemoryStore()
    queue: asyncio.Queue[Item] = asyncio.Queue()
    writer = asyncio.create_task(
        Writer(store, 1, queue, RunStats(), DatabaseSettings(batch_size=4, writers=1)).run()
    )
    for job_id in range(1, 7):
        queue.put_nowait(page(REPO_A, job_id))
        await asyncio.sleep(0.01)
    await asyncio.sleep(linger * 3)
    queue.put_nowait(page(REPO_A, 7))
    queue.put_nowait(None)
    await writer
    assert [ids for kind, ids in store.events if kind == "jobs"] == [[1, 2, 3, 4], [5, 6], [7]]
