"""Every connection names itself, has a statement timeout and keepalives; the crawl lock lives on its own
connection, is taken back when that connection dies, and stops the run when another crawl took over."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from structlog.testing import capture_logs

from pipeline import errors, migrate
from pipeline.settings import DatabaseSettings
from pipeline.store import SessionOptions, Store
from pipeline.store.lock import while_locked
from tests.integration.factories import make_job

REGION = "cn-north-4"
KEY = "crawl:cn-north-4"
CRAWL = SessionOptions(application_name="swr-etl crawl")


async def backends(admin: asyncpg.Connection[asyncpg.Record]) -> dict[str, list[int]]:
    """application_name -> pids of this database's sessions (a fresh snapshot)."""
    await admin.execute("SELECT pg_stat_clear_snapshot()")
    rows = await admin.fetch(
        "SELECT application_name, pid FROM pg_stat_activity WHERE datname = current_database()"
    )
    found: dict[str, list[int]] = {}
    for r in rows:
        found.setdefault(r["application_name"], []).append(r["pid"])
    return found


async def terminate(admin: asyncpg.Connection[asyncpg.Record], pid: int) -> None:
    """pg_terminate_backend, waiting (up to 5 s) until the backend is gone and its locks with it."""
    assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)


@contextlib.asynccontextmanager
async def lost_lock(
    database_url: str,
) -> AsyncIterator[tuple[Store, asyncpg.Connection[asyncpg.Record], int, int]]:
    """A crawl that took KEY and opened a run, whose lock connection was then terminated: (the crawl's
    store, an admin connection, the run id, the terminated backend's pid)."""
    crawl = await Store.connect(database_url, session=CRAWL)
    admin = await asyncpg.connect(database_url)
    try:
        assert await crawl.try_lock(KEY)
        run = await crawl.start_run([REGION], {})
        (pid,) = (await backends(admin))["swr-etl crawl lock"]
        await terminate(admin, pid)
        yield crawl, admin, run, pid
    finally:
        await admin.close()
        await crawl.close()


def test_server_settings_from_the_database_settings() -> None:
    database = DatabaseSettings(
        statement_timeout=1.5, keepalive_idle=30, keepalive_interval=5, keepalive_count=4
    )
    options = SessionOptions.from_settings(database, "swr-etl crawl")
    assert options.server_settings("lock") == {
        "application_name": "swr-etl crawl lock",
        "statement_timeout": "1500",
        "tcp_keepalives_idle": "30",
        "tcp_keepalives_interval": "5",
        "tcp_keepalives_count": "4",
    }
    assert options.command_timeout > options.statement_timeout  # the server's cancel comes first


async def test_postgresql_applies_every_session_setting(database_url: str) -> None:
    options = SessionOptions.from_settings(DatabaseSettings(statement_timeout=42), "swr-etl report")
    conn = await asyncpg.connect(database_url, server_settings=options.server_settings())
    try:
        shown = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in (
                "application_name",
                "statement_timeout",
                "tcp_keepalives_idle",
                "tcp_keepalives_count",
            )
        }
    finally:
        await conn.close()
    assert shown == {
        "application_name": "swr-etl report",
        "statement_timeout": "42s",
        "tcp_keepalives_idle": "60",  # (0 on a unix socket, where keepalives do not apply)
        "tcp_keepalives_count": "6",
    }


async def test_a_statement_past_the_timeout_is_cancelled_not_awaited_forever(database_url: str) -> None:
    store = await Store.connect(database_url, session=SessionOptions(statement_timeout=0.3))
    blocker = await asyncpg.connect(database_url)
    try:
        run = await store.start_run([REGION], {})
        await store.upsert_jobs(REGION, run, [make_job(1)])
        async with blocker.transaction():
            await blocker.execute("LOCK TABLE sync_jobs IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(errors.DatabaseError, match="statement timeout"):
                await store.upsert_jobs(REGION, run, [make_job(1, updated=5)])
            assert time.monotonic() - started < 5.0
    finally:
        await blocker.close()
        await store.close()


async def test_the_lock_has_a_connection_of_its_own_named_in_pg_stat_activity(
    database_url: str, store: Store
) -> None:
    crawl = await Store.connect(database_url, session=CRAWL)
    admin = await asyncpg.connect(database_url)
    try:
        assert await crawl.try_lock(KEY)
        names = await backends(admin)
        assert len(names["swr-etl crawl lock"]) == 1
        assert len(names["swr-etl crawl"]) >= 1  # the pool, distinct from the lock's connection
        holder = await admin.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert holder == names["swr-etl crawl lock"][0]
    finally:
        await admin.close()
        await crawl.close()


async def test_a_terminated_lock_connection_is_taken_back(database_url: str, store: Store) -> None:
    async with lost_lock(database_url) as (crawl, admin, run, pid):
        with capture_logs() as logs:
            await crawl.check_lock(run, [REGION])
        assert [e["event"] for e in logs] == ["crawl_lock_lost", "crawl_lock_reacquired"]
        (new_pid,) = (await backends(admin))["swr-etl crawl lock"]
        assert new_pid != pid
        assert not await store.try_lock(KEY)  # held again: a second crawl is refused
        await crawl.check_lock(run, [REGION])  # and the next check finds it held


async def test_a_lock_taken_by_another_crawl_meanwhile_stops_the_run(database_url: str, store: Store) -> None:
    async with lost_lock(database_url) as (crawl, _, run, _):
        assert await store.try_lock(KEY)  # the second crawl
        with pytest.raises(errors.CrawlLockLost, match="another crawl of the same source holds it"):
            await crawl.check_lock(run, [REGION])


async def test_a_crawl_that_ran_while_the_lock_was_lost_stops_the_run(
    database_url: str, store: Store
) -> None:
    async with lost_lock(database_url) as (crawl, _, run, _):
        # A whole second crawl: it took the free lock, ran, and released it again.
        assert await store.try_lock(KEY)
        other = await store.start_run(["ap-southeast-1", REGION], {})
        await store.unlock()
        with pytest.raises(errors.CrawlLockLost, match=f"run {other} of the same source started meanwhile"):
            await crawl.check_lock(run, [REGION])
        assert await store.try_lock(KEY)  # the stopped run let go of the lock it took back


async def test_the_watch_cancels_the_work_when_the_lock_is_lost(database_url: str, store: Store) -> None:
    work_cancelled = asyncio.Event()

    async def endless_work() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            work_cancelled.set()

    async with lost_lock(database_url) as (crawl, _, run, _):
        assert await store.try_lock(KEY)
        watch = crawl.watch_lock(run, [REGION], interval=0.05)
        with pytest.raises(errors.CrawlLockLost):
            await asyncio.wait_for(while_locked(endless_work(), watch), 10)
        assert work_cancelled.is_set()


async def test_a_held_lock_lets_the_work_finish(database_url: str) -> None:
    crawl = await Store.connect(database_url, session=CRAWL)
    try:
        assert await crawl.try_lock(KEY)
        run = await crawl.start_run([REGION], {})

        async def work() -> int:
            await asyncio.sleep(0.3)  # a few checks happen meanwhile
            return 7

        assert await while_locked(work(), crawl.watch_lock(run, [REGION], interval=0.05)) == 7
    finally:
        await crawl.close()


async def test_migrations_name_their_session_without_a_statement_timeout(empty_database_url: str) -> None:
    connect_args = migrate.alembic_config(empty_database_url).attributes["connect_args"]
    assert connect_args["timeout"] > 0  # a database that never answers does not hang `swr-etl migrate`
    settings = connect_args["server_settings"]
    assert settings["application_name"] == "swr-etl migrate"
    assert "statement_timeout" not in settings  # a migration may rewrite a large table
    await migrate.upgrade_to_head_async(empty_database_url)  # env.py hands them to PostgreSQL


async def test_the_lock_is_per_source_so_overlapping_sets_never_run_together(
    database_url: str, store: Store
) -> None:
    both = await Store.connect(database_url, session=CRAWL)
    admin = await asyncpg.connect(database_url)
    try:
        assert await both.try_lock("crawl:a", "crawl:b")
        assert not await store.try_lock("crawl:b")  # a crawl of b alone overlaps a crawl of a and b
        assert not await store.try_lock("crawl:c", "crawl:a")  # refused: and keeps none (c stays free)
        assert await store.try_lock("crawl:c")
        await store.unlock()

        # A lost lock connection: every source's lock is taken back, and the checks see them all held.
        run = await both.start_run(["a", "b"], {})
        (pid,) = (await backends(admin))["swr-etl crawl lock"]
        await terminate(admin, pid)
        await both.check_lock(run, ["a", "b"])
        assert not await store.try_lock("crawl:a") and not await store.try_lock("crawl:b")
        held = await admin.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
        assert held == 2

        # One of them taken by another crawl while the connection was down: this run stops.
        (pid,) = (await backends(admin))["swr-etl crawl lock"]
        await terminate(admin, pid)
        assert await store.try_lock("crawl:b")
        with pytest.raises(errors.CrawlLockLost):
            await both.check_lock(run, ["a", "b"])
    finally:
        await admin.close()
        await both.close()
