"""Plain helpers for test databases (no pytest): pick a server, create and drop databases."""

from __future__ import annotations

import asyncio
import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg

# The developer machine runs a trust-auth server here; CI may have none (then: embedded PostgreSQL).
LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ENV_DSN = "SWR_ETL_TEST_DATABASE_URL"
PREFIX = "swr_etl_test_"


def with_database(dsn: str, database: str) -> str:
    """The same DSN pointing at another database."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def unique_prefix() -> str:
    """A database-name prefix no other test session uses: swr_etl_test_<random>."""
    return f"{PREFIX}{secrets.token_hex(4)}"


async def server_answers(dsn: str, connect_timeout: float = 2.0) -> bool:
    """True when a PostgreSQL server accepts our connection at ``dsn``."""
    try:
        conn = await asyncpg.connect(dsn, timeout=connect_timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    await conn.close()
    return True


def configured_dsn() -> str | None:
    """The server named by SWR_ETL_TEST_DATABASE_URL, if set."""
    return os.environ.get(ENV_DSN) or None


async def create_database(admin_dsn: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` (optionally from a template) and return its DSN."""
    assert name.startswith(PREFIX), name  # we only ever create (and so drop) our own databases
    conn = await asyncpg.connect(admin_dsn)
    try:
        sql = f'CREATE DATABASE "{name}"'
        if template is not None:
            sql += f' TEMPLATE "{template}"'
        # A template must have no other sessions; a just-closed migration connection may linger briefly.
        for attempt in range(50):
            try:
                await conn.execute(sql)
                break
            except asyncpg.ObjectInUseError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return with_database(admin_dsn, name)


async def drop_database(admin_dsn: str, name: str) -> None:
    """Drop database ``name`` (ours only), disconnecting whoever is still on it."""
    assert name.startswith(PREFIX), name
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
