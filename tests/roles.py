"""Plain helpers for tests that connect as other roles: login roles with unique names, dropped again."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests import pg

WRITER, READER = "swr_etl_writer", "swr_etl_reader"


@dataclass(frozen=True)
class Login:
    """A login role of a test and the DSN that connects as it (to the database of the DSN it was made for)."""

    name: str
    dsn: str


def as_user(dsn: str, user: str, password: str) -> str:
    """The same DSN connecting as another user."""
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:{password}@{host}", parts.path, parts.query, parts.fragment))


def unique_role(label: str) -> str:
    """A role name no other test or session uses: swr_etl_test_<random>_<label>."""
    return f"{pg.PREFIX}{secrets.token_hex(4)}_{label}"


async def ensure_group_roles(admin_dsn: str) -> None:
    """What an operator does once per cluster when the migrator may not CREATE ROLE."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        for role in (WRITER, READER):
            if not await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", role):
                # Created meanwhile by the migration of another database: fine.
                with contextlib.suppress(asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
                    await conn.execute(f"CREATE ROLE {role} NOLOGIN")
    finally:
        await conn.close()


@asynccontextmanager
async def login_roles(admin_dsn: str, *specs: tuple[str, str]) -> AsyncIterator[list[Login]]:
    """Login roles, one per (label, attributes such as 'IN ROLE swr_etl_writer'), dropped on exit.

    Each DSN is `admin_dsn` with the role's name and password (the test server may require one).
    """
    conn = await asyncpg.connect(admin_dsn)
    logins: list[Login] = []
    try:
        for label, attributes in specs:
            name, password = unique_role(label), secrets.token_hex(12)
            await conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' {attributes}")
            logins.append(Login(name, as_user(admin_dsn, name, password)))
        yield logins
    finally:
        for login in reversed(logins):
            await conn.execute(f"DROP ROLE IF EXISTS {login.name}")
        await conn.close()
