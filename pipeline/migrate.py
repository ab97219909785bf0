"""Schema migrations: run the alembic revisions (``migrations/``, shipped as ``pipeline.migrations``).

alembic (and SQLAlchemy under it) is imported only by the functions that migrate: it costs ~0.4 s of
start-up, and every `swr-etl crawl` needs just the head revision, read from the scripts' headers.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import errors
from pipeline.store.core import current_revision
from pipeline.store.session import SessionOptions
from pipeline.store.wrap import describe, scrub, wrap_exceptions

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "current_revision",
    "downgrade",
    "downgrade_async",
    "head_revision",
    "upgrade",
    "upgrade_async",
    "upgrade_to_head",
    "upgrade_to_head_async",
]


def _migrations_dir() -> Path:
    """The alembic scripts: inside the package when installed from a wheel (pipeline/migrations, mapped
    from the top-level migrations/ at build time), else the checkout's migrations/ beside the package."""
    package = Path(__file__).resolve().parent
    packaged = package / "migrations"
    if (packaged / "env.py").exists():
        return packaged
    return package.parent / "migrations"


MIGRATIONS_DIR = _migrations_dir()
CONNECT_TIMEOUT_S = 10.0
# The alembic command line's settings; an installed package has none and needs none (see alembic_config).
ALEMBIC_INI = MIGRATIONS_DIR.parent / "alembic.ini"


# `revision = "0002"` / `down_revision: str | None = "0001"` (or None), as alembic's template writes them.
_REVISION_LINE = re.compile(
    r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(?:[\"']([^\"'\n]+)[\"']|None)\s*$", re.MULTILINE
)


def alembic_config(database_url: str | None = None) -> Config:
    """An alembic Config pointing at our scripts, carrying the database URL as an attribute."""
    from alembic.config import Config  # noqa: PLC0415 (see the module docstring)

    config = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        config.attributes["database_url"] = database_url
        # A bounded connect, named in pg_stat_activity, with keepalives; no statement timeout: a migration
        # may rewrite a large table.
        settings = SessionOptions(application_name="swr-etl migrate").server_settings()
        del settings["statement_timeout"]
        config.attributes["connect_args"] = {"server_settings": settings, "timeout": CONNECT_TIMEOUT_S}
    return config


def head_revision() -> str:
    """The newest revision in the scripts (no database needed)."""
    heads = _scanned_heads()
    if len(heads) == 1:
        return heads[0]
    # Anything unusual (branches, a header written another way): let alembic decide or complain.
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def _scanned_heads() -> list[str]:
    """Revisions no other script revises, from the scripts' header lines (empty if any header is odd)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(
            (m.group(1), m.group(2)) for m in _REVISION_LINE.finditer(script.read_text(encoding="utf-8"))
        )
        if found.get("revision") is None or "down_revision" not in found:
            return []
        revisions.add(found["revision"])
        if found["down_revision"] is not None:
            revised.add(found["down_revision"])
    return sorted(revisions - revised)


@contextmanager
def _database_errors(database_url: str, action: str) -> Iterator[None]:
    """Driver failures during a migration as the project's errors: one line, exit 1, no password."""
    from sqlalchemy.exc import DBAPIError  # noqa: PLC0415

    try:
        with wrap_exceptions(database_url, action):
            yield
    except DBAPIError as exc:  # SQLAlchemy wraps (twice) what asyncpg raised: name the asyncpg error
        cause = getattr(exc.orig, "__cause__", None) or exc.orig or exc
        message = f"PostgreSQL error while {action}: {describe(cause)}"
        raise errors.DatabaseError(scrub(message, database_url)) from exc


def upgrade(database_url: str, revision: str) -> None:
    """Migrate the database up to ``revision`` (blocking; env.py runs its own event loop)."""
    from alembic import command  # noqa: PLC0415

    with _database_errors(database_url, f"migrating to revision {revision}"):
        command.upgrade(alembic_config(database_url), revision)


def upgrade_to_head(database_url: str) -> None:
    """Migrate the database to the newest revision (blocking; runs its own event loop)."""
    upgrade(database_url, "head")


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to ``revision`` ("base" for an empty schema)."""
    from alembic import command  # noqa: PLC0415

    with _database_errors(database_url, f"migrating down to revision {revision}"):
        command.downgrade(alembic_config(database_url), revision)


async def upgrade_to_head_async(database_url: str) -> None:
    """upgrade_to_head from async code: env.py runs its own loop, so it goes to a worker thread."""
    await asyncio.to_thread(upgrade_to_head, database_url)


async def upgrade_async(database_url: str, revision: str) -> None:
    """upgrade from async code (in a worker thread)."""
    await asyncio.to_thread(upgrade, database_url, revision)


async def downgrade_async(database_url: str, revision: str) -> None:
    """downgrade from async code (in a worker thread, like upgrade_to_head_async)."""
    await asyncio.to_thread(downgrade, database_url, revision)
