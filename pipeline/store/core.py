"""The Store: an asyncpg pool and every database operation of the pipeline."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from operator import itemgetter
from typing import Any, TypeAlias

import asyncpg
import orjson

from pipeline import errors
from pipeline.domain import Reject, Repository, RunStats, SyncJob
from pipeline.incremental import RepoState
from pipeline.store import queries as q
from pipeline.store.models import Report, UpsertResult
from pipeline.store.repo_states import RepoResult, mark_gone_upstream, repo_state_of, state_columns
from pipeline.store.report import build_report
from pipeline.store.wrap import describe, redact_dsn, scrub, wrap_exceptions

# Runtime classes are not generic; the aliases exist for the type checker (asyncpg-stubs).
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
PoolConnection: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"


def lock_id(key: str) -> int:
    """A stable signed 64-bit advisory-lock id for a text key (first 8 bytes of its sha256)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def dedupe_latest(jobs: Sequence[SyncJob]) -> list[SyncJob]:
    """One job per id, the one with the greatest updated_at (ON CONFLICT cannot touch a row twice)."""
    latest: dict[int, SyncJob] = {}
    for job in jobs:
        seen = latest.get(job.id)
        if seen is None or job.updated_at >= seen.updated_at:
            latest[job.id] = job
    return list(latest.values())


def storable_text(text: str) -> str:
    """PostgreSQL text cannot hold NUL: keep it visible as the JSON escape instead."""
    return text.replace("\x00", "\\u0000")


async def _insert_new(
    conn: PoolConnection, region: str, run_id: int, records: Sequence[SyncJob]
) -> int | None:
    """COPY a batch believed new straight into sync_jobs; None (nothing written) if a job exists."""
    try:
        async with conn.transaction():  # a savepoint: a clash undoes this attempt only
            # Plain tuples, as for the staged COPY in Store.upsert_jobs.
            head = (region, run_id)
            await conn.copy_records_to_table(
                q.JOBS_TABLE, records=[head + r for r in records], columns=q.NEW_JOB_COLUMNS
            )
    except asyncpg.UniqueViolationError:
        return None
    return len(records)


async def current_revision(conn: asyncpg.Connection[asyncpg.Record] | PoolConnection) -> str | None:
    """The migration the database is at, or None when it was never migrated."""
    if not await conn.fetchval(q.REVISION_TABLE_EXISTS):
        return None
    value = await conn.fetchval(q.CURRENT_REVISION)
    return None if value is None else str(value)


async def _init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """Per-connection setup: the upsert's temp table lives as long as the session."""
    await conn.execute(q.CREATE_INCOMING)


class Store:
    """All reads and writes of the pipeline, on one asyncpg pool."""

    def __init__(self, pool: Pool, dsn: str) -> None:
        self._pool = pool
        self._dsn = dsn
        self._lock_conn: PoolConnection | None = None
        self._lock_id: int | None = None
        self._expect_new = True  # see upsert_jobs

    def __repr__(self) -> str:
        return f"Store({redact_dsn(self._dsn)})"

    @classmethod
    async def connect(
        cls, dsn: str, *, connect_timeout: float = 10.0, min_size: int = 1, max_size: int = 4
    ) -> Store:
        """Open a pool; any failure becomes DatabaseUnavailable with a password-free message."""
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                timeout=connect_timeout,
                command_timeout=None,
                init=_init_connection,
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            message = f"cannot connect to PostgreSQL at {redact_dsn(dsn)}: {describe(exc)}"
            raise errors.DatabaseUnavailable(scrub(message, dsn)) from None
        return cls(pool, dsn)

    async def close(self) -> None:
        """Release the lock (if held) and close the pool."""
        try:
            await self.unlock()
        except errors.DatabaseUnavailable:
            pass  # the lost connection took its session lock with it
        finally:
            await self._pool.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- schema and locking -----------------------------------------------------------------------

    async def current_revision(self) -> str | None:
        """The migration the database is at (None when never migrated)."""
        with wrap_exceptions(self._dsn, "reading the schema revision"):
            async with self._pool.acquire() as conn:
                return await current_revision(conn)

    async def ensure_at_head(self, head: str) -> None:
        """Raise SchemaNotAtHead unless the database is migrated to ``head``."""
        current = await self.current_revision()
        if current != head:
            raise errors.SchemaNotAtHead(
                f"database schema is at revision {current or 'none (empty database)'}, expected {head}:"
                " run `swr-etl migrate`"
            )

    async def try_lock(self, key: str) -> bool:
        """Take the advisory lock for ``key`` on a dedicated connection; False if someone else holds it."""
        if self._lock_conn is not None:
            raise errors.DatabaseError("this store already holds an advisory lock")
        ident = lock_id(key)
        with wrap_exceptions(self._dsn, "taking the crawl lock"):
            conn = await self._pool.acquire()
            try:
                locked = bool(await conn.fetchval(q.TRY_LOCK, ident))
            except BaseException:
                await self._pool.release(conn)
                raise
            if not locked:
                await self._pool.release(conn)
                return False
        self._lock_conn, self._lock_id = conn, ident
        return True

    async def unlock(self) -> None:
        """Release the advisory lock taken by try_lock (no-op when none is held)."""
        conn, ident = self._lock_conn, self._lock_id
        if conn is None or ident is None:
            return
        self._lock_conn = self._lock_id = None
        try:
            with wrap_exceptions(self._dsn, "releasing the crawl lock"):
                await conn.fetchval(q.UNLOCK, ident)
        finally:
            # A lost connection released the lock already; the pool discards a broken connection.
            await self._pool.release(conn)

    # --- runs -------------------------------------------------------------------------------------

    async def close_abandoned_runs(self, sources: list[str], settings_summary: dict[str, Any]) -> list[int]:
        """Mark runs of the same configuration still 'running' as failed (call while holding their lock)."""
        same_sources = orjson.dumps(settings_summary.get("sources", [])).decode()
        with wrap_exceptions(self._dsn, "closing abandoned runs"):
            rows = await self._pool.fetch(q.CLOSE_ABANDONED_RUNS, list(sources), same_sources)
        return [int(row["id"]) for row in rows]

    async def start_run(self, sources: list[str], settings_summary: dict[str, Any]) -> int:
        """Open a crawl_runs row in status 'running' and return its id."""
        settings = orjson.dumps(settings_summary).decode()
        with wrap_exceptions(self._dsn, "starting a run"):
            run_id = await self._pool.fetchval(q.START_RUN, list(sources), settings)
        return int(run_id)

    async def finish_run(self, run_id: int, status: str, stats: RunStats, error: str | None) -> None:
        """Close a run with its final status, counters and error message."""
        s = stats
        counters = (
            *(s.repos_ok, s.repos_failed, s.repos_gone, s.repos_flagged, s.pages, s.requests),
            *(s.jobs_seen, s.inserted, s.updated, s.unchanged, s.rejected, s.unknown_status),
        )
        modes = (
            s.repos_full,
            s.repos_incremental,
            s.repos_reread,
            s.repos_left,
            s.requests_saved,
            s.jobs_gone,
        )
        with wrap_exceptions(self._dsn, "finishing a run"):
            await self._pool.execute(q.FINISH_RUN, run_id, status, *counters, error, *modes)

    # --- jobs -------------------------------------------------------------------------------------

    async def upsert_jobs(self, region: str, run_id: int, jobs: Sequence[SyncJob]) -> UpsertResult:
        """Merge one batch in one transaction.

        While batches keep turning out wholly new (a first crawl), a batch is first COPYed straight into
        sync_jobs inside a savepoint: plain inserts, no staging table, no conflict arbitration. The unique
        key stays the judge: if any job already exists (or a concurrent batch is inserting it), that
        attempt rolls back and the batch takes the general path, a COPY into the session's temp table
        then a single INSERT ... ON CONFLICT. One clash switches the store to the general path until a
        batch is again wholly new, so a re-crawl pays for at most one failed attempt per writer.
        """
        if not jobs:
            return UpsertResult(0, 0, 0)
        # Id order makes concurrent batches lock overlapping rows in the same order (no deadlocks).
        records = sorted(dedupe_latest(jobs), key=itemgetter(0))
        with wrap_exceptions(self._dsn, "writing sync jobs"):
            async with self._pool.acquire() as conn, conn.transaction():
                inserted = await _insert_new(conn, region, run_id, records) if self._expect_new else None
                if inserted is None:
                    # Plain tuples: asyncpg reads a tuple subclass (SyncJob) field by field through
                    # __getitem__, about 8,000 more instructions per row (callgrind).
                    plain = [tuple(r) for r in records]
                    await conn.copy_records_to_table(q.INCOMING_TABLE, records=plain, columns=q.JOB_COLUMNS)
                    row = await conn.fetchrow(q.UPSERT_JOBS, region, run_id)
                    assert row is not None
                    inserted, updated = int(row["inserted"]), int(row["updated"])
                else:
                    updated = 0
        self._expect_new = inserted == len(records)
        return UpsertResult(inserted, updated, len(jobs) - inserted - updated)

    async def fetch_all_jobs(self, region: str | None = None) -> list[SyncJob]:
        """Every stored job (of one region, or all), ordered by region and id."""
        with wrap_exceptions(self._dsn, "reading sync jobs"):
            rows = await self._pool.fetch(q.FETCH_JOBS, region)
        return [SyncJob(**dict(row)) for row in rows]

    # --- crawl bookkeeping ------------------------------------------------------------------------

    async def record_rejects(
        self, region: str, run_id: int, repo: Repository, rejects: Sequence[Reject]
    ) -> None:
        """Keep invalid records aside with their raw text and reason (all or nothing)."""
        if not rejects:
            return
        rows = [
            (run_id, region, repo.namespace, repo.name, storable_text(r.raw), storable_text(r.reason))
            for r in rejects
        ]
        with wrap_exceptions(self._dsn, "recording rejected records"):
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.executemany(q.INSERT_REJECT, rows)

    async def record_repo_results(self, run_id: int, results: Sequence[RepoResult]) -> int:
        """Issues (of the repositories not ok), states, and the jobs full crawls no longer found upstream,
        of many repositories in one transaction; returns how many jobs were newly marked gone upstream.

        One statement for all the states (arrays, unnest) and one round trip for the issues, instead of
        two statements per repository: at a thousand repositories a second, per-repository statements
        cost PostgreSQL a core's worth of executor start-up.
        """
        issues = [
            (
                *(run_id, r.region, r.repo.namespace, r.repo.name, r.status, r.error_code),
                *(storable_text(r.message or ""), r.attempts),
                None if r.detail is None else orjson.dumps(r.detail).decode(),
            )
            for r in results
            if r.status != "ok"
        ]
        columns = state_columns(results)
        with wrap_exceptions(self._dsn, "recording repository results"):
            async with self._pool.acquire() as conn, conn.transaction():
                if issues:
                    await conn.executemany(q.INSERT_REPO_ISSUE, issues)
                if columns:
                    await conn.execute(q.UPSERT_REPO_STATES, run_id, *columns)
                return await mark_gone_upstream(conn, results)

    async def load_repo_states(self, region: str) -> dict[Repository, RepoState]:
        """What earlier crawls left of every repository of a region, for planning the next crawl."""
        with wrap_exceptions(self._dsn, "reading repository states"):
            rows = await self._pool.fetch(q.FETCH_REPO_STATES, region)
        return dict(repo_state_of(row) for row in rows)

    # --- reporting --------------------------------------------------------------------------------

    async def report(self, *, stuck_after: timedelta = timedelta(hours=1), top: int = 10) -> Report:
        """The numbers behind `swr-etl report`, read in one repeatable-read snapshot."""
        with wrap_exceptions(self._dsn, "building the report"):
            async with (
                self._pool.acquire() as conn,
                conn.transaction(readonly=True, isolation="repeatable_read"),
            ):
                return await build_report(conn, stuck_after=stuck_after, top=top)
