"""Migrations: one head, upgrade from empty, down/up round trips, and no drift from the snapshot."""

from __future__ import annotations

import os
import re
from pathlib import Path

import asyncpg
from alembic.script import ScriptDirectory

from pipeline import migrate
from tests.migration.schema import dump_schema

SNAPSHOT = Path(__file__).with_name("schema_snapshot.sql")
REFRESH_HINT = "if the change is intended, refresh with: UPDATE_SCHEMA_SNAPSHOT=1 .venv/bin/python -m pytest "
REFRESH_HINT += "tests/migration -k snapshot"


def revisions_oldest_first() -> list[str]:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    return [s.revision for s in reversed(list(scripts.walk_revisions()))]


async def revision_of(dsn: str) -> str | None:
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate.current_revision(conn)
    finally:
        await conn.close()


def test_a_single_head() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(scripts.get_heads()) == 1
    assert migrate.head_revision() == revisions_oldest_first()[-1]


def test_migrations_never_import_application_code() -> None:
    sources = [migrate.MIGRATIONS_DIR / "env.py", *migrate.MIGRATIONS_DIR.glob("versions/*.py")]
    assert len(sources) >= 3
    for source in sources:
        assert not re.search(r"^\s*(from|import)\s+pipeline\b", source.read_text(), re.M), source


async def test_upgrade_from_empty_reaches_head(empty_database_url: str) -> None:
    assert await revision_of(empty_database_url) is None
    await migrate.upgrade_to_head_async(empty_database_url)
    assert await revision_of(empty_database_url) == migrate.head_revision()


async def test_downgrade_to_base_then_upgrade_again(empty_database_url: str) -> None:
    await migrate.upgrade_to_head_async(empty_database_url)
    at_head = await dump_schema(empty_database_url)

    await migrate.downgrade_async(empty_database_url, "base")
    leftovers = [line for line in (await dump_schema(empty_database_url)).splitlines() if line]
    assert all("alembic_version" in line for line in leftovers), leftovers

    await migrate.upgrade_to_head_async(empty_database_url)
    assert await dump_schema(empty_database_url) == at_head


async def test_each_revision_round_trips(empty_database_url: str) -> None:
    previous = "base"
    for revision in revisions_oldest_first():
        await migrate.upgrade_async(empty_database_url, revision)
        applied = await dump_schema(empty_database_url)
        await migrate.downgrade_async(empty_database_url, previous)
        await migrate.upgrade_async(empty_database_url, revision)
        assert await dump_schema(empty_database_url) == applied, f"round trip of {revision} drifts"
        previous = revision


async def test_schema_matches_snapshot(empty_database_url: str) -> None:
    await migrate.upgrade_to_head_async(empty_database_url)
    actual = await dump_schema(empty_database_url)
    if os.environ.get("UPDATE_SCHEMA_SNAPSHOT") == "1":
        SNAPSHOT.write_text(actual)
    assert SNAPSHOT.exists(), f"no snapshot at {SNAPSHOT}; {REFRESH_HINT}"
    assert actual == SNAPSHOT.read_text(), f"schema drifted from {SNAPSHOT.name}; {REFRESH_HINT}"


async def test_template_database_is_at_head(database_url: str) -> None:
    assert await revision_of(database_url) == migrate.head_revision()
