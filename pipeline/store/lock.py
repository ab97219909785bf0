"""The crawl lock: a session advisory lock on a connection of its own, checked while the run goes on.

A session lock lives exactly as long as its connection. Held on an idle pooled connection, it could vanish
unnoticed (an idle timeout, a NAT, `pg_terminate_backend`) and let a second crawl of the same sources
start. Here it is held on a dedicated connection that is asked every few seconds, and once more before a
run reports success, whether it still holds the lock. A lost lock is taken back, unless another crawl took
it or ran meanwhile: then this run stops (`CrawlLockLost`), so two crawls never both run to completion.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import asyncpg

from pipeline import errors
from pipeline.logs import get_logger
from pipeline.store import queries as q
from pipeline.store.session import SessionOptions
from pipeline.store.wrap import describe, redact_dsn, scrub, wrap_exceptions

log = get_logger(__name__)
T = TypeVar("T")
Connection = asyncpg.Connection  # (asyncpg-stubs make it generic; the runtime class is not)

# Checks in a row that may fail to reach the database before the run gives up (the writer meanwhile
# retries its own writes): a restarting server is not a lost lock.
UNREACHABLE_CHECKS = 3


def _halves(ident: int) -> tuple[int, int]:
    """pg_locks' classid and objid of a bigint advisory-lock key (its high and low 32 bits)."""
    unsigned = ident & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


class CrawlLock:
    """One advisory lock per source of the run, all on one connection of their own; `check` keeps them or
    stops the run. Per source, not per set of sources: a crawl of A and one of A and B never overlap."""

    def __init__(self, dsn: str, idents: Sequence[int], session: SessionOptions, timeout: float) -> None:
        if not idents:
            raise ValueError("a crawl lock needs at least one key")
        self._dsn, self._session, self._timeout = dsn, session, timeout
        self._idents = sorted(set(idents))
        self._conn: Connection[asyncpg.Record] | None = None
        self._verified_at: datetime | None = None  # the server's clock when the lock was last seen held
        self._unreachable = 0

    def __repr__(self) -> str:
        return f"CrawlLock({redact_dsn(self._dsn)}, {self._idents})"

    async def acquire(self) -> bool:
        """Take every key's lock without waiting; False (none kept) when another session holds one."""
        with wrap_exceptions(self._dsn, "taking the crawl lock"):
            conn = await self._connect()
            try:
                if await self._lock_all(conn):
                    self._conn, self._verified_at = conn, await self._held_since(conn)
                    return True
            except BaseException:
                conn.terminate()
                raise
        await self._close(conn)  # its session locks go with it
        return False

    async def release(self) -> None:
        """Release the lock and close its connection (a lost connection released it already)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            with wrap_exceptions(self._dsn, "releasing the crawl lock"):
                for ident in self._idents:
                    await conn.fetchval(q.UNLOCK, ident, timeout=self._timeout)
        finally:
            await self._close(conn)

    async def watch(self, run_id: int, sources: Sequence[str], interval: float) -> NoReturn:
        """Check the lock every `interval` seconds until cancelled; raise when the run must stop."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check(run_id, sources)
            except errors.CrawlLockLost:
                raise
            except errors.DatabaseUnavailable:
                self._unreachable += 1
                if self._unreachable >= UNREACHABLE_CHECKS:
                    raise
                log.warning("crawl_lock_unverified", checks_failed=self._unreachable)
            else:
                self._unreachable = 0

    async def check(self, run_id: int, sources: Sequence[str]) -> None:
        """Return when the lock is held (kept, or taken back); raise CrawlLockLost when another crawl of
        `sources` holds it or started since it was last seen held, DatabaseUnavailable when the database
        cannot be asked."""
        conn = self._conn
        if conn is not None:
            try:
                self._verified_at = await self._held_since(conn)
                return
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, _NotHeld) as exc:
                log.warning("crawl_lock_lost", error=scrub(describe(exc), self._dsn))
                self._conn = None
                conn.terminate()
        await self._take_back(run_id, sources)

    async def _take_back(self, run_id: int, sources: Sequence[str]) -> None:
        with wrap_exceptions(self._dsn, "taking the crawl lock back"):
            conn = await self._connect()
            try:
                if not await self._lock_all(conn):
                    raise errors.CrawlLockLost(
                        "the crawl lock was lost and another crawl of the same source holds it now: "
                        "this run stops"
                    )
                newer = await conn.fetchval(
                    q.RUN_STARTED_SINCE, self._verified_at, list(sources), run_id, timeout=self._timeout
                )
                if newer is not None:
                    raise errors.CrawlLockLost(
                        f"the crawl lock was lost and run {newer} of the same source started meanwhile: "
                        "this run stops"
                    )
                self._verified_at = await self._held_since(conn)
            except BaseException:
                conn.terminate()  # a session lock goes with its connection
                raise
        self._conn = conn
        log.warning("crawl_lock_reacquired")

    async def _lock_all(self, conn: Connection[asyncpg.Record]) -> bool:
        """Try every key's lock on `conn` (the caller closes it when this says False)."""
        for ident in self._idents:
            if not await conn.fetchval(q.TRY_LOCK, ident, timeout=self._timeout):
                return False
        return True

    async def _held_since(self, conn: Connection[asyncpg.Record]) -> datetime:
        """The server's clock now, if this session holds every key's lock; _NotHeld otherwise."""
        classids, objids = zip(*map(_halves, self._idents), strict=True)
        row = await conn.fetchrow(q.LOCK_HELD, list(classids), list(objids), timeout=self._timeout)
        if row is None or not row["held"]:
            raise _NotHeld("the lock's session no longer holds it")
        checked_at: datetime = row["checked_at"]
        return checked_at

    async def _connect(self) -> Connection[asyncpg.Record]:
        return await asyncpg.connect(
            self._dsn,
            timeout=self._timeout,
            command_timeout=self._session.command_timeout,
            server_settings=self._session.server_settings("lock"),
        )

    async def _close(self, conn: Connection[asyncpg.Record]) -> None:
        try:
            await conn.close(timeout=self._timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            conn.terminate()


async def while_locked(work: Coroutine[Any, Any, T], watch: Coroutine[Any, Any, NoReturn]) -> T:
    """Run `work` while `watch` checks the lock; a lost lock cancels the work and raises."""
    work_task, watch_task = asyncio.create_task(work), asyncio.create_task(watch, name="crawl-lock")
    try:
        await asyncio.wait({work_task, watch_task}, return_when=asyncio.FIRST_COMPLETED)
        if watch_task.done():
            # The watch only ends by raising: the run must stop at once.
            raise watch_task.exception() or errors.CrawlLockLost()
        return work_task.result()
    finally:
        for task in (work_task, watch_task):
            task.cancel()
        await asyncio.wait({work_task, watch_task})


class _NotHeld(Exception):
    """The lock's connection answers but no longer holds the lock."""
