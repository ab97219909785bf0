"""The batching writer: fetchers hand pages to a bounded queue; one task upserts them in batches.

Memory stays flat however many repositories there are: the queue is bounded, so fetchers wait when the
database is slower than the network.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pipeline.backoff import BackoffPolicy, backoff_delay
from pipeline.domain import Reject, Repository, RunStats, SyncJob
from pipeline.errors import DatabaseError
from pipeline.logs import get_logger
from pipeline.settings import DatabaseSettings

log = get_logger(__name__)

# How long a batch waits, after its first item, for more items while it is below batch_size.
LINGER_S = 0.05
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageBatch:
    """Jobs (new within this run) and rejected records of one fetched page."""

    region: str
    repo: Repository
    jobs: Sequence[SyncJob]
    rejects: Sequence[Reject] = ()


@dataclass(frozen=True, slots=True)
class RepoOutcome:
    """How one repository's crawl ended; written after its pages, so 'ok' means its jobs are committed."""

    region: str
    repo: Repository
    status: str  # ok | failed | gone | flagged
    total: int | None = None
    jobs_seen: int = 0
    max_job_id: int | None = None
    error_code: str | None = None
    message: str | None = None
    attempts: int = 0
    detail: dict[str, Any] | None = field(default=None)
    # Incremental-crawl state (see pipeline/incremental.py); kept as it was when the crawl failed.
    full: bool = True  # read in full (the mode, or an incremental crawl's re-read)
    high_water_id: int | None = None
    high_water_created_at: datetime | None = None
    open_jobs: int | None = None
    oldest_open_created_at: datetime | None = None
    listed_ids: Collection[int] | None = None  # every id a clean full crawl listed: the others are gone


Item = PageBatch | RepoOutcome | None


class Writer:
    """Consumes the queue until a `None` sentinel; retries database writes with backoff."""

    def __init__(
        self, store: Any, run_id: int, queue: asyncio.Queue[Item], stats: RunStats, db: DatabaseSettings
    ):
        self._store = store
        self._run_id = run_id
        self._queue = queue
        self._stats = stats
        self._batch_size = db.batch_size
        self._policy = BackoffPolicy(
            base=0.2, cap=db.write_backoff_cap, attempts=db.write_attempts, max_retry_after=0
        )
        self._rng = random.Random()
        self._slots = asyncio.Semaphore(db.writers)

    async def run(self) -> None:
        """Write until the sentinel arrives, up to `database.writers` batches at once.

        Batches overlap on separate connections (PostgreSQL spends most of an upsert maintaining indexes,
        one core per batch), but each batch records its repositories' outcomes only after every earlier
        batch has committed: an outcome 'ok' still promises that all of its jobs are stored.
        """
        previous: asyncio.Task[None] | None = None
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                # A slot first, then the batch: while both slots are busy the queue fills, and the next
                # batch takes all of it (fewer, larger transactions when the database is the bottleneck).
                await self._slots.acquire()  # a failed flush frees its slot: its error is raised next
                try:
                    _raise_failure(in_flight)
                    batch = await self._next_batch(in_flight)
                except BaseException:
                    self._slots.release()
                    raise
                items = [i for i in batch if i is not None]
                previous = asyncio.create_task(self._flush(items, previous))
                in_flight.add(previous)
                previous.add_done_callback(_forget_if_ok(in_flight))
                if batch[-1] is None:
                    await previous
                    return
        finally:
            for task in in_flight:
                task.cancel()
            # Awaited, so no batch outlives the writer (the run closes the pool next) and each error is seen.
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _next_batch(self, in_flight: set[asyncio.Task[None]]) -> list[Item]:
        """Queued items up to `batch_size` jobs, waiting up to LINGER_S after the first for more to come
        (one transaction per few pages costs more than the pages); a failed flush ends the wait."""
        batch: list[Item] = await self._get(in_flight, until=None)
        jobs = _jobs_in(batch[0])
        until = asyncio.get_running_loop().time() + LINGER_S
        while jobs < self._batch_size and batch[-1] is not None:
            got = [self._queue.get_nowait()] if not self._queue.empty() else await self._get(in_flight, until)
            if not got:
                break
            batch += got
            jobs += _jobs_in(got[0])
        return batch

    async def _get(self, in_flight: set[asyncio.Task[None]], until: float | None) -> list[Item]:
        """[the next queued item], or [] once the loop's clock passes `until`; raises the error of a
        failed flush."""
        loop = asyncio.get_running_loop()
        getter = asyncio.create_task(self._queue.get())
        try:
            while not getter.done():
                left = None if until is None else until - loop.time()
                if left is not None and left <= 0:
                    break
                await asyncio.wait({getter, *in_flight}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                _raise_failure(in_flight)
        finally:
            # Not awaited: a cancelled Queue.get leaves its item in the queue, and cancel() is refused
            # once the getter holds an item, which is then returned, never lost.
            cancelled = getter.cancel()
        return [] if cancelled else [getter.result()]

    async def _flush(self, items: list[PageBatch | RepoOutcome], previous: asyncio.Task[None] | None) -> None:
        try:
            await self._write_jobs(items)
            if previous is not None:
                await asyncio.shield(previous)  # outcomes wait for every earlier batch's jobs
        finally:
            self._slots.release()
        # After the jobs: an outcome 'ok' promises its jobs are committed. All of them in one transaction.
        outcomes = [item for item in items if isinstance(item, RepoOutcome)]
        if outcomes:
            self._stats.jobs_gone += await self._retry(
                self._store.record_repo_results, self._run_id, outcomes
            )

    async def _write_jobs(self, items: list[PageBatch | RepoOutcome]) -> None:
        by_region: dict[str, list[SyncJob]] = defaultdict(list)
        for item in items:
            if isinstance(item, PageBatch):
                by_region[item.region].extend(item.jobs)
        for region, jobs in by_region.items():
            result = await self._retry(self._store.upsert_jobs, region, self._run_id, jobs)
            self._stats.inserted += result.inserted
            self._stats.updated += result.updated
            self._stats.unchanged += result.unchanged
            self._stats.id_conflicts += result.id_conflicts
            if result.id_conflicts:
                log.warning("id_conflicts", region=region, count=result.id_conflicts)
        for item in items:
            if isinstance(item, PageBatch) and item.rejects:
                await self._retry(
                    self._store.record_rejects, item.region, self._run_id, item.repo, item.rejects
                )

    async def _retry(self, write: Callable[..., Awaitable[T]], *args: Any) -> T:
        """A lost database is retried with backoff; each write is one transaction: never half-written."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await write(*args)
            except DatabaseError as exc:
                if attempt >= self._policy.attempts:
                    raise
                delay = max(0.1, backoff_delay(self._policy, attempt, self._rng.random()))
                log.warning("db_write_retry", attempt=attempt, delay=round(delay, 2), error=exc.message)
                await asyncio.sleep(delay)


def _forget_if_ok(tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    """A done-callback dropping a finished flush from the set, unless it failed (so its error is seen)."""

    def forget(task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            tasks.discard(task)

    return forget


def _jobs_in(item: Item) -> int:
    return len(item.jobs) if isinstance(item, PageBatch) else 0


def _raise_failure(tasks: set[asyncio.Task[None]]) -> None:
    """Re-raise the error of a finished flush, if one failed."""
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
