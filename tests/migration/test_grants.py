"""The group roles' grants: on every table and view at head, on what later migrations create, and the
roles' life cycle in a cluster that many databases share (role names of the tests' own)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from pipeline import migrate
from tests.roles import READER, WRITER, login_roles, unique_role

# What each role must hold on each kind of relation; what nobody but the owner may hold anywhere.
EXPECTED = {
    (READER, "table"): {"SELECT"},
    (READER, "view"): {"SELECT"},
    (WRITER, "table"): {"SELECT", "INSERT", "UPDATE"},
    (WRITER, "view"): {"SELECT"},
    (WRITER, "sequence"): {"USAGE"},
}
NEVER = {"DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}

# Every table, view and sequence of schema public: name, kind and each group role's privileges.
RELATIONS = """
SELECT c.relname AS name,
       CASE WHEN c.relkind IN ('r', 'p') THEN 'table' WHEN c.relkind IN ('v', 'm') THEN 'view'
            ELSE 'sequence' END AS kind,
       r.rolname AS role,
       ARRAY(SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                                        'TRIGGER']) AS p
             WHERE c.relkind <> 'S' AND has_table_privilege(r.oid, c.oid, p)
             UNION ALL SELECT 'USAGE' WHERE c.relkind = 'S' AND has_sequence_privilege(r.oid, c.oid, 'USAGE'))
           AS privileges
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
CROSS JOIN pg_roles r
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND r.rolname = ANY($1::text[])
"""


async def missing_grants(conn: asyncpg.Connection, writer: str = WRITER, reader: str = READER) -> list[str]:
    """Each relation whose grants to the roles differ from EXPECTED (views and alembic_version: exactly)."""
    problems = []
    for row in await conn.fetch(RELATIONS, [writer, reader]):
        role = WRITER if row["role"] == writer else READER
        held = set(row["privileges"])
        expected = EXPECTED.get((role, row["kind"]), set())
        never = NEVER
        if row["name"] == "alembic_version":
            expected = {"SELECT"}  # nobody but the migrator may fake the schema's revision
        if row["name"] == "sync_job_rejects" and role == WRITER:
            expected, never = expected | {"DELETE"}, NEVER - {"DELETE"}  # the crawl ages rejects out
        # Views and alembic_version: exactly what is expected. (Default privileges cannot tell a view from a
        # table: a migration adding a view revokes the writer's INSERT/UPDATE on it, as 0012 does.)
        exact = row["kind"] == "view" or row["name"] == "alembic_version"
        if not expected <= held or held & never or (exact and held != expected):
            problems.append(f"{row['kind']} {row['name']}: {role} holds {sorted(held)}")
    return sorted(problems)


async def test_every_table_view_and_sequence_grants_the_roles_their_privileges(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await migrate.current_revision(conn) == migrate.head_revision()
        assert await conn.fetchval("SELECT count(*) FROM pg_class WHERE relname = 'sync_job_durations'") == 1
        assert await missing_grants(conn) == []
        # The check fails on a relation without them: it is not vacuous.
        await conn.execute(f"REVOKE UPDATE ON crawl_repositories FROM {WRITER}")
        await conn.execute(f"REVOKE SELECT ON sync_job_durations FROM {READER}")
        await conn.execute(f"GRANT DELETE ON sync_jobs TO {WRITER}")
        assert await missing_grants(conn) == [
            f"table crawl_repositories: {WRITER} holds ['INSERT', 'SELECT']",
            f"table sync_jobs: {WRITER} holds ['DELETE', 'INSERT', 'SELECT', 'UPDATE']",
            f"view sync_job_durations: {READER} holds []",
        ]
    finally:
        await conn.close()


async def test_tables_and_views_a_later_migration_creates_are_granted_too(database_url: str) -> None:
    """What a later revision does, as the same migrating role, needs no GRANT of its own."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE TABLE later_changes (id bigserial PRIMARY KEY, note text)")
        await conn.execute("CREATE VIEW later_view AS SELECT id FROM later_changes")
        # Default privileges cannot tell a view from a table: the writer's INSERT/UPDATE on a new view is
        # caught, and the migration that adds a view revokes them.
        assert await missing_grants(conn) == [
            f"view later_view: {WRITER} holds ['INSERT', 'SELECT', 'UPDATE']"
        ]
        await conn.execute(f"REVOKE INSERT, UPDATE ON later_view FROM {WRITER}")
        assert await missing_grants(conn) == []
        kinds = await conn.fetch(RELATIONS, [WRITER])
        assert {(r["name"], r["kind"]) for r in kinds} >= {
            ("later_changes", "table"),
            ("later_changes_id_seq", "sequence"),
            ("later_view", "view"),
        }
    finally:
        await conn.close()


async def role_exists(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", name))


async def test_roles_are_kept_while_another_database_or_a_member_uses_them(
    pg_server_dsn: str, new_database: Callable[[], Awaitable[str]]
) -> None:
    writer, reader = unique_role("w"), unique_role("r")
    first, second = await asyncpg.connect(await new_database()), await asyncpg.connect(await new_database())
    admin = await asyncpg.connect(pg_server_dsn)
    try:
        for conn in (first, second):
            await conn.execute("SELECT swr_etl_grant_roles($1, $2)", writer, reader)
            assert await missing_grants(conn, writer, reader) == []
        await first.execute("SELECT swr_etl_revoke_roles($1, $2)", writer, reader)
        assert len(await missing_grants(first, writer, reader)) > 0  # revoked here ...
        assert await role_exists(admin, writer) and await role_exists(admin, reader)  # ... kept: `second`
        assert await missing_grants(second, writer, reader) == []

        async with login_roles(pg_server_dsn, ("member", f"IN ROLE {writer}")):
            await second.execute("SELECT swr_etl_revoke_roles($1, $2)", writer, reader)
            assert await role_exists(admin, writer)  # an operator's login role is its member: kept
            assert not await role_exists(admin, reader)  # unused anywhere: dropped
        await second.execute("SELECT swr_etl_revoke_roles($1, $2)", writer, reader)
        assert not await role_exists(admin, writer)
    finally:
        for role in (writer, reader):
            await admin.execute(f"DROP ROLE IF EXISTS {role}")
        for conn in (first, second, admin):
            await conn.close()


async def test_a_migrator_that_may_not_create_roles_skips_them_with_a_notice(
    pg_server_dsn: str, empty_database_url: str
) -> None:
    """Migrating as a plain owner grants to the roles that exist and names those it could not create."""
    admin = await asyncpg.connect(empty_database_url)
    async with login_roles(pg_server_dsn, ("owner", "NOSUPERUSER NOCREATEROLE")) as [owner]:
        database = empty_database_url.rpartition("/")[2]
        await admin.execute(f'ALTER DATABASE "{database}" OWNER TO {owner.name}')
        owner_dsn = owner.dsn.rpartition("/")[0] + "/" + database
        try:
            await migrate.upgrade_to_head_async(owner_dsn)
            conn = await asyncpg.connect(owner_dsn)
            notices: list[str] = []
            conn.add_log_listener(lambda _conn, message: notices.append(message.message))
            try:
                absent = unique_role("absent")
                await conn.execute("SELECT swr_etl_grant_roles($1, $2)", absent, READER)
                assert not await role_exists(conn, absent)
                assert notices == [
                    f"role {absent} not created: {owner.name} may not CREATE ROLE; create it (NOLOGIN),"
                    f" then run SELECT swr_etl_grant_roles() as {owner.name}"
                ]
                assert await missing_grants(conn) == []  # the existing roles got their grants
            finally:
                await conn.close()
        finally:
            # Its tables and default privileges go, so that the role can be dropped.
            await admin.execute(f"REASSIGN OWNED BY {owner.name} TO CURRENT_USER")
            await admin.execute(f"DROP OWNED BY {owner.name}")
            await admin.execute(f'ALTER DATABASE "{database}" OWNER TO CURRENT_USER')
            await admin.close()
