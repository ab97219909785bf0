"""Least-privilege group roles: swr_etl_writer (what `swr-etl crawl` needs) and swr_etl_reader (SELECT).

Both are NOLOGIN groups; operators grant them to login users (`GRANT swr_etl_writer TO crawler`). Roles
belong to the cluster, not to this database: they are created only when missing, and only when the
migrating role may CREATE ROLE; else a NOTICE says so, and once an operator has created them,
`SELECT swr_etl_grant_roles()` (as the migrating role) grants what this revision would have. The
downgrade revokes what this database granted and drops a role only when no other database still refers
to it and no login role is its member.

What each gets, on the application's tables and views (those in this schema owned by the migrating
role, as every migration's are):
- reader: SELECT on every table and view; CONNECT on the database; USAGE on the schema.
- writer: SELECT on every table and view; INSERT and UPDATE on every table but alembic_version (the crawl
  upserts); DELETE on sync_job_rejects only (the crawl ages rejects out after
  database.rejects_retention_days); USAGE on the sequences (bigserial ids); CONNECT and TEMPORARY on the
  database (the upsert stages batches in a session temp table); USAGE on the schema. Never DELETE
  elsewhere, TRUNCATE, REFERENCES, TRIGGER, ownership or CREATE: no DDL. Advisory locks need no privilege.
Tables and views that later migrations create get the same through ALTER DEFAULT PRIVILEGES (for the
migrating role, in this schema); a migration that needs something else grants it itself, or ends with
`SELECT swr_etl_grant_roles()` (see CONTRIBUTING.md); tests/migration/test_grants.py fails on any table or
view without them. The two functions take the role names as arguments, so tests can use their own.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

# The application's relations: in the current schema, owned by the role that owns alembic_version
# (the migrator). Another application's tables in a shared schema are left alone.
APP_RELATIONS = """
        SELECT c.relname, c.relkind FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner = (SELECT a.relowner FROM pg_class a
                            WHERE a.relname = 'alembic_version'
                              AND a.relnamespace = current_schema()::regnamespace)"""

# True when the migrating role may grant on the database / schema (owner, member of the owner, superuser).
OWNS_DATABASE = "pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER')"
OWNS_SCHEMA = "pg_has_role((SELECT nspowner FROM pg_namespace WHERE nspname = current_schema()), 'MEMBER')"

GRANT_ROLES = f"""
CREATE FUNCTION swr_etl_grant_roles(
    writer text DEFAULT 'swr_etl_writer', reader text DEFAULT 'swr_etl_reader'
)
RETURNS void LANGUAGE plpgsql AS $grant$
DECLARE
    schema text := current_schema();
    name text;
    rel record;
    has_writer boolean;
    has_reader boolean;
BEGIN
    FOREACH name IN ARRAY ARRAY[writer, reader] LOOP
        CONTINUE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = name);
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', name);
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'role % not created: % may not CREATE ROLE; create it (NOLOGIN), then run'
                    ' SELECT swr_etl_grant_roles() as %', name, current_user, current_user;
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by the migration of another database
        END;
    END LOOP;
    has_writer := EXISTS (SELECT FROM pg_roles WHERE rolname = writer);
    has_reader := EXISTS (SELECT FROM pg_roles WHERE rolname = reader);
    FOR rel IN {APP_RELATIONS} LOOP
        IF rel.relkind = 'S' THEN
            IF has_writer THEN
                EXECUTE format('GRANT USAGE ON SEQUENCE %I.%I TO %I', schema, rel.relname, writer);
            END IF;
            CONTINUE;
        END IF;
        IF has_reader THEN
            EXECUTE format('GRANT SELECT ON %I.%I TO %I', schema, rel.relname, reader);
        END IF;
        IF has_writer THEN
            EXECUTE format('GRANT SELECT ON %I.%I TO %I', schema, rel.relname, writer);
            IF rel.relkind IN ('r', 'p') AND rel.relname <> 'alembic_version' THEN
                EXECUTE format('GRANT INSERT, UPDATE ON %I.%I TO %I', schema, rel.relname, writer);
            END IF;
            IF rel.relname = 'sync_job_rejects' THEN
                -- The crawl ages rejects out (database.rejects_retention_days): its one DELETE.
                EXECUTE format('GRANT DELETE ON %I.%I TO %I', schema, rel.relname, writer);
            END IF;
        END IF;
    END LOOP;
    IF has_reader THEN
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO %I', schema, reader);
    END IF;
    IF has_writer THEN
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE ON TABLES TO %I',
                       schema, writer);
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE ON SEQUENCES TO %I',
                       schema, writer);
    END IF;
    -- PUBLIC has CONNECT and TEMPORARY by default; a hardened database revokes them: grant explicitly.
    IF NOT {OWNS_DATABASE} THEN
        RAISE NOTICE 'database privileges not granted: % does not own database %; its owner grants CONNECT'
            ' to % and %, and TEMPORARY to %', current_user, current_database(), writer, reader, writer;
    ELSE
        IF has_writer THEN
            EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), writer);
        END IF;
        IF has_reader THEN
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), reader);
        END IF;
    END IF;
    IF NOT {OWNS_SCHEMA} THEN
        RAISE NOTICE 'schema privileges not granted: % does not own schema %; its owner grants USAGE to %'
            ' and %', current_user, schema, writer, reader;
    ELSE
        IF has_writer THEN
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema, writer);
        END IF;
        IF has_reader THEN
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema, reader);
        END IF;
    END IF;
END
$grant$
"""

REVOKE_ROLES = f"""
CREATE FUNCTION swr_etl_revoke_roles(
    writer text DEFAULT 'swr_etl_writer', reader text DEFAULT 'swr_etl_reader'
)
RETURNS void LANGUAGE plpgsql AS $revoke$
DECLARE
    schema text := current_schema();
    name text;
    rel record;
BEGIN
    FOREACH name IN ARRAY ARRAY[writer, reader] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name);
        FOR rel IN {APP_RELATIONS} LOOP
            EXECUTE format('REVOKE ALL ON %s %I.%I FROM %I',
                           CASE WHEN rel.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                           schema, rel.relname, name);
        END LOOP;
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM %I', schema, name);
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM %I', schema, name);
        IF {OWNS_DATABASE} THEN
            EXECUTE format('REVOKE ALL ON DATABASE %I FROM %I', current_database(), name);
        END IF;
        IF {OWNS_SCHEMA} THEN
            EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', schema, name);
        END IF;
        -- Roles are cluster-wide: other databases (another deployment, every test database) may still
        -- grant to it, and login roles may be its members; then it stays.
        IF EXISTS (SELECT FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass
                   AND refobjid = name::regrole)
           OR EXISTS (SELECT FROM pg_auth_members WHERE roleid = name::regrole
                      AND member <> current_user::regrole) THEN
            RAISE NOTICE 'role % kept: other databases or login roles still use it', name;
            CONTINUE;
        END IF;
        BEGIN
            EXECUTE format('DROP ROLE %I', name);
        EXCEPTION
            WHEN insufficient_privilege OR dependent_objects_still_exist THEN
                RAISE NOTICE 'role % kept: %', name, SQLERRM;
        END;
    END LOOP;
END
$revoke$
"""

# Only the migrating role (the owner) runs them; PUBLIC may execute new functions by default.
FUNCTIONS = ("swr_etl_grant_roles(text, text)", "swr_etl_revoke_roles(text, text)")


def upgrade() -> None:
    """Create the group roles (when permitted) and grant them their privileges."""
    op.execute(GRANT_ROLES)
    op.execute(REVOKE_ROLES)
    for function in FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
    op.execute("SELECT swr_etl_grant_roles()")


def downgrade() -> None:
    """Revoke this database's grants; drop the roles when no other database uses them."""
    op.execute("SELECT swr_etl_revoke_roles()")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
