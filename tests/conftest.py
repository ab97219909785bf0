"""Database fixtures shared by every test layer.

The server: SWR_ETL_TEST_DATABASE_URL, else 127.0.0.1:5432 (user postgres) if it answers, else an
embedded PostgreSQL in a temp folder. The schema is migrated once into a template database; each test
that asks for ``database_url`` gets ``CREATE DATABASE ... TEMPLATE`` (fast). Every database created
here is named ``swr_etl_test_<random>_...`` and dropped again; nothing else is touched.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from pipeline.embedded_db import EmbeddedPostgres
from pipeline.migrate import upgrade_to_head_async
from pipeline.store import Store
from tests import pg
from tests.pushgateway import running_pushgateway

# Property tests assert behaviour, not speed: a per-example deadline only measures how loaded the machine is
# (a 200 ms default failed a pagination property on a busy CI host).
settings.register_profile("swr-etl", deadline=None)
settings.load_profile("swr-etl")


@pytest.fixture(scope="session")
async def pg_server_dsn(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """Admin DSN of the test server (database postgres unless the env var names another)."""
    configured = pg.configured_dsn()
    if configured is not None:
        yield configured
        return
    if await pg.server_answers(pg.LOCAL_DSN):
        yield pg.LOCAL_DSN
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("embedded-pg"))
    dsn = server.start()
    try:
        yield dsn
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _db_prefix() -> str:
    """This session's database-name prefix."""
    return pg.unique_prefix()


@pytest.fixture(scope="session")
async def _template_database(pg_server_dsn: str, _db_prefix: str) -> AsyncIterator[str]:
    """A database migrated to head once per session; tests get copies of it."""
    name = f"{_db_prefix}_tpl"
    dsn = await pg.create_database(pg_server_dsn, name)
    try:
        await upgrade_to_head_async(dsn)
        yield name
    finally:
        await pg.drop_database(pg_server_dsn, name)


@pytest.fixture(scope="session")
async def _database_factory(
    pg_server_dsn: str, _db_prefix: str
) -> AsyncIterator[Callable[[str | None], Awaitable[tuple[str, str]]]]:
    """Creates uniquely named databases; drops any still left at session end."""
    counter = itertools.count(1)
    created: list[str] = []

    async def create(template: str | None) -> tuple[str, str]:
        name = f"{_db_prefix}_{next(counter)}"
        created.append(name)
        return name, await pg.create_database(pg_server_dsn, name, template)

    yield create
    for name in created:
        await pg.drop_database(pg_server_dsn, name)


@pytest.fixture
async def new_database(
    pg_server_dsn: str,
    _template_database: str,
    _database_factory: Callable[[str | None], Awaitable[tuple[str, str]]],
) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Creates fresh databases migrated to head on demand (DSNs); all are dropped after the test."""
    names: list[str] = []

    async def create() -> str:
        name, dsn = await _database_factory(_template_database)
        names.append(name)
        return dsn

    yield create
    for name in names:
        await pg.drop_database(pg_server_dsn, name)


@pytest.fixture
async def database_url(new_database: Callable[[], Awaitable[str]]) -> str:
    """DSN of a fresh database migrated to head, dropped after the test."""
    return await new_database()


@pytest.fixture
async def empty_database_url(
    pg_server_dsn: str, _database_factory: Callable[[str | None], Awaitable[tuple[str, str]]]
) -> AsyncIterator[str]:
    """DSN of a fresh, empty (never migrated) database, dropped after the test."""
    name, dsn = await _database_factory(None)
    yield dsn
    await pg.drop_database(pg_server_dsn, name)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A connected Store on a fresh migrated database."""
    connected = await Store.connect(database_url)
    try:
        yield connected
    finally:
        await connected.close()


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """URL of a real Pushgateway of this test alone (free loopback port, own storage), stopped after it."""
    storage = tmp_path / "pushgateway"
    storage.mkdir()
    with running_pushgateway(storage) as url:
        yield url
