"""A normalized, deterministic text dump of a database's schema (for the drift test)."""

from __future__ import annotations

import asyncpg

# Each query yields one sortable text line per schema object of the public schema.
QUERIES = (
    # Columns with type, nullability and default.
    """
    SELECT format('column %s.%s %s%s%s%s', table_name, column_name,
                  CASE WHEN data_type = 'ARRAY' THEN udt_name ELSE data_type END,
                  COALESCE(' collate ' || collation_name, ''),
                  CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END,
                  COALESCE(' default ' || column_default, ''))
    FROM information_schema.columns WHERE table_schema = 'public'
    """,
    # Primary keys, foreign keys, checks and unique constraints.
    """
    SELECT format('constraint %s %s %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE n.nspname = 'public' AND c.contype <> 'n'
    """,
    # Indexes as CREATE INDEX statements.
    "SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'",
    # Views with their definition; PostgreSQL 16+ prints columns unqualified, so qualifiers are dropped.
    """
    SELECT format('view %s %s', viewname, btrim(regexp_replace(
               regexp_replace(definition, '\\m\\w+\\.(?=\\w)', '', 'g'), '\\s+', ' ', 'g')))
    FROM pg_views WHERE schemaname = 'public'
    """,
    # Triggers (the reporting rollup's, the status history's) as CREATE TRIGGER statements.
    """
    SELECT format('trigger %s', pg_get_triggerdef(t.oid))
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    WHERE NOT t.tgisinternal
    """,
    # Functions with their whole definition on one line.
    """
    SELECT format('function %s', regexp_replace(pg_get_functiondef(p.oid), '\\s+', ' ', 'g'))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
    """,
    # Comments on tables, views and columns.
    """
    SELECT format('comment %s%s %s', c.relname, COALESCE('.' || a.attname, ''), d.description)
    FROM pg_description d
    JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
    """,
    # Privileges of the application's group roles on tables, views and sequences.
    """
    SELECT format('grant %s to %s: %s', c.relname, p.grantee::regrole,
                  string_agg(p.privilege_type, ', ' ORDER BY p.privilege_type))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    CROSS JOIN LATERAL aclexplode(c.relacl) p
    WHERE p.grantee::regrole::text IN ('swr_etl_writer', 'swr_etl_reader')
    GROUP BY c.relname, p.grantee
    """,
    # ... on the database and the schema.
    """
    SELECT format('grant %s %s to %s: %s', kind, name, p.grantee::regrole,
                  string_agg(p.privilege_type, ', ' ORDER BY p.privilege_type))
    FROM (SELECT 'database' AS kind, 'current' AS name, datacl AS acl
          FROM pg_database WHERE datname = current_database()
          UNION ALL SELECT 'schema', nspname, nspacl FROM pg_namespace WHERE nspname = 'public') o
    CROSS JOIN LATERAL aclexplode(o.acl) p
    WHERE p.grantee::regrole::text IN ('swr_etl_writer', 'swr_etl_reader')
    GROUP BY kind, name, p.grantee
    """,
    # Default privileges: what tables and sequences created later grant.
    """
    SELECT format('default privileges on %s to %s: %s',
                  CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                      ELSE d.defaclobjtype::text END,
                  p.grantee::regrole, string_agg(p.privilege_type, ', ' ORDER BY p.privilege_type))
    FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) p
    WHERE p.grantee::regrole::text IN ('swr_etl_writer', 'swr_etl_reader')
    GROUP BY d.defaclobjtype, p.grantee
    """,
)


async def dump_schema(dsn: str) -> str:
    """Every table, column, constraint, index, view, trigger, function, comment and grant of schema
    public, one sorted line each."""
    conn = await asyncpg.connect(dsn)
    try:
        lines = [line for query in QUERIES for (line,) in await conn.fetch(query)]
    finally:
        await conn.close()
    return "\n".join(sorted(lines)) + "\n"
