"""Alembic environment: runs the hand-written revisions on asyncpg through SQLAlchemy's async engine.

Never imports application code. The database URL comes from, in order: ``config.attributes
["database_url"]`` (the application), ``-x database_url=...``, ``SWR_ETL_DATABASE_URL``, the file named
by ``SWR_ETL_DATABASE_URL_FILE``, ``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

config = context.config

# Only the alembic command line configures logging; the application owns its own logging setup.
if config.cmd_opts is not None and config.config_file_name is not None:
    fileConfig(config.config_file_name)


def database_url() -> str:
    """The plain (asyncpg-style) database URL from the first source that has one."""
    url = (
        config.attributes.get("database_url")
        or context.get_x_argument(as_dictionary=True).get("database_url")
        or os.environ.get("SWR_ETL_DATABASE_URL")
        or secret_file(os.environ.get("SWR_ETL_DATABASE_URL_FILE"))
        or os.environ.get("DATABASE_URL")
    )
    if not url:
        raise RuntimeError(
            "no database URL: pass -x database_url=... or set SWR_ETL_DATABASE_URL"
            " (or SWR_ETL_DATABASE_URL_FILE)"
        )
    return str(url)


def secret_file(path: str | None) -> str | None:
    """A file's content less one trailing newline, as the application reads a Kubernetes Secret volume."""
    if not path:
        return None
    text = Path(path).read_bytes().decode("utf-8")
    return text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")


def sqlalchemy_url(url: str) -> tuple[str, dict[str, Any]]:
    """Turn ``postgresql://...?sslmode=x`` into ``postgresql+asyncpg://...`` plus asyncpg connect args."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    connect_args: dict[str, Any] = {}
    kept = []
    for key, value in query:
        # asyncpg spells libpq's sslmode as the `ssl` argument (same mode names).
        if key in ("sslmode", "ssl"):
            connect_args["ssl"] = value
        else:
            kept.append((key, value))
    scheme = "postgresql+asyncpg"
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment)), connect_args


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (``alembic upgrade head --sql``)."""
    url, _ = sqlalchemy_url(database_url())
    context.configure(url=url, literal_binds=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the revisions on one connection, each in its own transaction."""
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """Connect with asyncpg and run the revisions."""
    url, connect_args = sqlalchemy_url(database_url())
    # The application bounds the connect, names its session and sets keepalives; the command line does not.
    connect_args.update(config.attributes.get("connect_args") or {})
    engine = create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
