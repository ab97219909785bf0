"""Schema migrations: run the alembic revisions in ``migrations/`` programmatically."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from pipeline.store.core import current_revision

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


def _project_root() -> Path:
    """Where migrations/ lives: next to the package (editable install, a checkout), else the working
    directory (a non-editable install such as the container image, whose WORKDIR holds migrations/)."""
    beside_package = Path(__file__).resolve().parent.parent
    if (beside_package / "migrations" / "env.py").exists():
        return beside_package
    return Path.cwd()


PROJECT_ROOT = _project_root()
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(database_url: str | None = None) -> Config:
    """An alembic Config pointing at our scripts, carrying the database URL as an attribute."""
    config = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


def head_revision() -> str:
    """The newest revision in the scripts (no database needed)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def upgrade(database_url: str, revision: str) -> None:
    """Migrate the database up to ``revision`` (blocking; env.py runs its own event loop)."""
    command.upgrade(alembic_config(database_url), revision)


def upgrade_to_head(database_url: str) -> None:
    """Migrate the database to the newest revision (blocking; runs its own event loop)."""
    upgrade(database_url, "head")


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to ``revision`` ("base" for an empty schema)."""
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
