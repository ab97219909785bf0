"""The Store: an asyncpg pool and every database operation of the pipeline."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, NoReturn, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from pipeline import errors
from pipeline.domain import Reject, Repository, RunStats, SyncJob
from pipeline.incremental import RepoState
from pipeline.records import extra_json, storable_text
from pipeline.store import queries as q
from pipeline.store.lock import CrawlLock
from pipeline.store.merge import PoolConnection, insert_new, merge, merge_rounds
from pipeline.store.models import LearnedRate, Report, UpsertResult
from pipeline.store.repo_states import RepoResult, mark_gone_upstream, repo_state_of, state_columns
from pipeline.store.report import build_report
from pipeline.store.session import SessionOptions
from pipeline.store.wrap import describe, redact_dsn, scrub, wrap_exceptions

# Runtime classes are not generic; the alias exists for the type checker (asyncpg-stubs).
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"


def lock_id(key: str) -> int:
    """A stable signed 64-bit advisory-lock id for a text key (first 8 bytes of its sha256)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def _modes(s: RunStats) -> tuple[int, ...]:
    """How the run crawled, in the order FINISH_RUN takes them after the counters and id conflicts."""
    return (s.repos_full, s.repos_incremental, s.repos_reread, s.repos_left, s.requests_saved, s.jobs_gone)


def _counters(s: RunStats, requests: int) -> tuple[int, ...]:
    """crawl_runs' counters in the order FINISH_RUN and HEARTBEAT take them."""
    return (
        *(s.repos_ok, s.repos_failed, s.repos_gone, s.repos_flagged, s.pages, requests),
        *(s.jobs_seen, s.inserted, s.updated, s.unchanged, s.rejected, s.unknown_status),
    )


async def current_revision(conn: asyncpg.Connection[asyncpg.Record] | PoolConnection) -> str | None:
    """The migration the database is at, or None when it was never migrated."""
    if not await conn.fetchval(q.REVISION_TABLE_EXISTS):
        return None
    value = await conn.fetchval(q.CURRENT_REVISION)
    return None if value is None else str(value)


async def ensure_database(server_dsn: str, name: str) -> str:
    """Create database `name` on the server when missing (the demo's own); return its DSN."""
    with wrap_exceptions(server_dsn, f"creating database {name}"):
        conn = await asyncpg.connect(server_dsn)
        try:
            if not await conn.fetchval(q.DATABASE_EXISTS, name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
    parts = urlsplit(server_dsn)
    return urlunsplit(parts._replace(path="/" + name))


async def _init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """Per-connection setup: the upsert's temp table lives as long as the session."""
    await conn.execute(q.CREATE_INCOMING)


class Store:
    """All reads and writes of the pipeline, on one asyncpg pool."""

    def __init__(
        self, pool: Pool, dsn: str, session: SessionOptions | None = None, connect_timeout: float = 10.0
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._session = session or SessionOptions()
        self._timeout = connect_timeout
        self._lock: CrawlLock | None = None
        self._expect_new = True  # see upsert_jobs

    def __repr__(self) -> str:
        return f"Store({redact_dsn(self._dsn)})"

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        connect_timeout: float = 10.0,
        min_size: int = 1,
        max_size: int = 4,
        writes: bool = True,
        session: SessionOptions | None = None,
    ) -> Store:
        """Open a pool; any failure becomes DatabaseUnavailable with a password-free message.

        Every connection names itself, has a statement timeout and TCP keepalives (`session`), and every
        statement a client-side deadline (asyncpg's command_timeout), so no await on the database is
        unbounded. `writes=False` (the report) skips the upsert's temp table: a member of swr_etl_reader
        has no TEMPORARY privilege where the database revoked it from PUBLIC.
        """
        options = session or SessionOptions()
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                timeout=connect_timeout,
                command_timeout=options.command_timeout,
                server_settings=options.server_settings(),
                init=_init_connection if writes else None,
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            message = f"cannot connect to PostgreSQL at {redact_dsn(dsn)}: {describe(exc)}"
            raise errors.DatabaseUnavailable(scrub(message, dsn)) from None
        return cls(pool, dsn, options, connect_timeout)

    async def close(self) -> None:
        """Release the lock (if held) and close the pool (within a deadline, then abruptly)."""
        try:
            await self.unlock()
        except errors.DatabaseUnavailable:
            pass  # the lost connection took its session lock with it
        finally:
            try:
                await asyncio.wait_for(self._pool.close(), self._timeout)
            except TimeoutError:
                self._pool.terminate()

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

    async def try_lock(self, *keys: str) -> bool:
        """Take the advisory lock of every key (one per source) on a dedicated connection; False, holding
        none, if another session holds any of them."""
        if self._lock is not None:
            raise errors.DatabaseError("this store already holds an advisory lock")
        lock = CrawlLock(self._dsn, [lock_id(key) for key in keys], self._session, self._timeout)
        if not await lock.acquire():
            return False
        self._lock = lock
        return True

    async def unlock(self) -> None:
        """Release the advisory lock taken by try_lock (no-op when none is held)."""
        lock, self._lock = self._lock, None
        if lock is not None:
            await lock.release()

    async def check_lock(self, run_id: int, sources: Sequence[str]) -> None:
        """Return when the lock is still held (or was taken back); CrawlLockLost when this run must stop."""
        if self._lock is None:
            raise errors.CrawlLockLost("this run holds no crawl lock")
        await self._lock.check(run_id, sources)

    async def watch_lock(self, run_id: int, sources: Sequence[str], interval: float) -> NoReturn:
        """Check the lock every ``interval`` seconds until cancelled (see CrawlLock.watch)."""
        if self._lock is None:
            raise errors.CrawlLockLost("this run holds no crawl lock")
        await self._lock.watch(run_id, sources, interval)

    # --- runs -------------------------------------------------------------------------------------

    async def close_abandoned_runs(
        self, sources: list[str], settings_summary: dict[str, Any], *, stale_beats: float
    ) -> list[int]:
        """Mark as failed the runs still 'running' of the same configuration (call while holding their
        lock), and those of any configuration whose heartbeat is older than ``stale_beats`` intervals."""
        same_sources = orjson.dumps(settings_summary.get("sources", [])).decode()
        with wrap_exceptions(self._dsn, "closing abandoned runs"):
            rows = await self._pool.fetch(q.CLOSE_ABANDONED_RUNS, list(sources), same_sources, stale_beats)
        return [int(row["id"]) for row in rows]

    async def start_run(self, sources: list[str], settings_summary: dict[str, Any]) -> int:
        """Open a crawl_runs row in status 'running' and return its id."""
        settings = orjson.dumps(settings_summary).decode()
        with wrap_exceptions(self._dsn, "starting a run"):
            run_id = await self._pool.fetchval(q.START_RUN, list(sources), settings)
        return int(run_id)

    async def heartbeat(self, run_id: int, stats: RunStats) -> None:
        """Write a running run's counters so far and its heartbeat_at (requests and 429s: those so far)."""
        counters = _counters(stats, stats.requests_sent())
        live = (stats.id_conflicts, *_modes(stats), stats.throttled_so_far())
        with wrap_exceptions(self._dsn, "writing the run's heartbeat"):
            await self._pool.execute(q.HEARTBEAT, run_id, *counters, *live)

    async def finish_run(self, run_id: int, status: str, stats: RunStats, error: str | None) -> None:
        """Close a run with its final status, counters and error message."""
        pacing = (stats.throttled, stats.rate_reached or None, stats.rate_learned)
        with wrap_exceptions(self._dsn, "finishing a run"):
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    q.FINISH_RUN,
                    run_id,
                    status,
                    *_counters(stats, stats.requests),
                    error,
                    stats.id_conflicts,
                    *_modes(stats),
                )
                await conn.execute(q.RECORD_RUN_PACING, run_id, *pacing)

    # --- learned rates ----------------------------------------------------------------------------

    async def learned_rates(self, source: str) -> list[LearnedRate]:
        """The rates remembered for a source (its lock key), one per API."""
        with wrap_exceptions(self._dsn, "reading learned rates"):
            rows = await self._pool.fetch(q.LEARNED_RATES, source)
        return [LearnedRate(row["api"], float(row["rate"]), row["run_id"]) for row in rows]

    async def remember_rates(self, source: str, run_id: int, rates: Mapping[str, float]) -> None:
        """Keep the rates a run ended at for a source, one per API, for the next run to start from."""
        if not rates:
            return
        with wrap_exceptions(self._dsn, "remembering learned rates"):
            await self._pool.execute(q.REMEMBER_RATES, source, run_id, list(rates), list(rates.values()))

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
        rounds = merge_rounds(jobs)
        inserted = updated = id_conflicts = 0
        with wrap_exceptions(self._dsn, "writing sync jobs"):
            async with self._pool.acquire() as conn, conn.transaction():
                for number, records in enumerate(rounds):
                    # Id order makes concurrent batches lock overlapping rows in the same order.
                    records.sort(key=itemgetter(0))
                    new = None
                    if number == 0 and self._expect_new:
                        new = await insert_new(conn, region, run_id, records)
                    if new is None:
                        new, changed, claimed = await merge(conn, region, run_id, records)
                        updated, id_conflicts = updated + changed, id_conflicts + claimed
                        if number + 1 < len(rounds):  # the next round starts from an empty temp table
                            await conn.execute(q.CLEAR_INCOMING)
                    if number == 0:
                        first_round_new = new == len(records)
                    inserted += new
        self._expect_new = first_round_new
        return UpsertResult(inserted, updated, len(jobs) - inserted - updated - id_conflicts, id_conflicts)

    async def fetch_all_jobs(self, region: str | None = None) -> list[SyncJob]:
        """Every stored job (of one region, or all), ordered by region and id."""
        with wrap_exceptions(self._dsn, "reading sync jobs"):
            rows = await self._pool.fetch(q.FETCH_JOBS, region)
        jobs = [SyncJob(**dict(row)) for row in rows]
        # jsonb comes back in PostgreSQL's layout: give extra the decoder's (sorted keys, compact).
        return [job._replace(extra=extra_json(orjson.loads(job.extra))) if job.extra else job for job in jobs]

    # --- crawl bookkeeping ------------------------------------------------------------------------

    async def record_rejects(
        self, region: str, run_id: int, repo: Repository, rejects: Sequence[Reject]
    ) -> None:
        """Keep invalid records aside with their raw text and reason (all or nothing), once per repository
        and raw text: a record met again only refreshes its reason and last_seen_at."""
        if not rejects:
            return
        rows = [
            (run_id, region, repo.namespace, repo.name, storable_text(r.raw), storable_text(r.reason))
            for r in rejects
        ]
        with wrap_exceptions(self._dsn, "recording rejected records"):
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.executemany(q.INSERT_REJECT, rows)

    async def prune_rejects(self, retention: timedelta) -> int:
        """Delete the rejects no run has met for longer than ``retention``; returns how many went."""
        with wrap_exceptions(self._dsn, "pruning rejected records"):
            return int(await self._pool.fetchval(q.PRUNE_REJECTS, retention))

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

    async def report(
        self, *, since: datetime, until: datetime, stuck_after: timedelta = timedelta(hours=1), top: int = 10
    ) -> Report:
        """The numbers behind `swr-etl report` (jobs created in since <= created_at < until), read in one
        repeatable-read snapshot."""
        with wrap_exceptions(self._dsn, "building the report"):
            async with (
                self._pool.acquire() as conn,
                conn.transaction(readonly=True, isolation="repeatable_read"),
            ):
                return await build_report(conn, since=since, until=until, stuck_after=stuck_after, top=top)
