"""Lenient records, strict identity: optional fields nullable, undocumented fields kept, identity conflicts
recorded, rejects de-duplicated across runs.

The API reference marks no response field as mandatory: only what identifies and orders a job (id,
namespace, repoName, createdAt, status) stays NOT NULL. `extra` keeps a record's undocumented fields.
A record whose id is stored under another repository never overwrites that row: it lands in
sync_job_conflicts (one row per id and repository, refreshed by every run that meets it) and is counted in
crawl_runs.id_conflicts. A reject is kept once per repository and raw text; last_seen_at says when a run
last met it, for the retention that ages rejects out. The stuck-jobs index is keyed on when a job last
moved as far as the API says: updated_at, else created_at.

The downgrade cannot keep NULLs in the old NOT NULL columns: it stores '' / false / created_at instead.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

OPTIONAL_TEXT = (
    "tag",
    "remote_region_id",
    "remote_namespace",
    "domain_id",
    "domain_name",
    "sync_operator_id",
    "sync_operator_name",
)
OPTIONAL = (*OPTIONAL_TEXT, "override", "updated_at")

CONFLICTS = """
CREATE TABLE sync_job_conflicts (
    region           text NOT NULL,
    id               bigint NOT NULL,
    namespace        text NOT NULL,
    repo_name        text NOT NULL,
    stored_namespace text NOT NULL,
    stored_repo_name text NOT NULL,
    record           jsonb NOT NULL,
    first_run_id     bigint NOT NULL REFERENCES crawl_runs (id) ON DELETE CASCADE,
    last_run_id      bigint NOT NULL REFERENCES crawl_runs (id) ON DELETE CASCADE,
    first_seen_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region, id, namespace, repo_name)
)
"""

UPGRADE = [
    *(f"ALTER TABLE sync_jobs ALTER COLUMN {column} DROP NOT NULL" for column in OPTIONAL),
    "ALTER TABLE sync_jobs ADD COLUMN extra jsonb",
    "COMMENT ON COLUMN sync_jobs.extra IS 'The record''s undocumented fields (NULL: it had none)'",
    "CREATE INDEX sync_jobs_active_moved_idx ON sync_jobs (COALESCE(updated_at, created_at))"
    " WHERE status IN ('waiting', 'running')",
    "DROP INDEX sync_jobs_active_updated_idx",
    "ALTER TABLE crawl_runs ADD COLUMN id_conflicts bigint NOT NULL DEFAULT 0",
    CONFLICTS,
    "COMMENT ON TABLE sync_job_conflicts IS 'Records whose id is stored under another repository (the"
    " stored row is kept); record is the conflicting observation'",
    # Keep the newest copy of each reject, then let the unique index keep it that way.
    """
    DELETE FROM sync_job_rejects r USING sync_job_rejects newer
    WHERE (newer.region, newer.namespace, newer.repo_name, md5(newer.raw))
        = (r.region, r.namespace, r.repo_name, md5(r.raw))
      AND newer.id > r.id
    """,
    "ALTER TABLE sync_job_rejects ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now()",
    "UPDATE sync_job_rejects SET last_seen_at = recorded_at",
    "CREATE UNIQUE INDEX sync_job_rejects_record_idx ON sync_job_rejects"
    " (region, namespace, repo_name, md5(raw))",
    "COMMENT ON COLUMN sync_job_rejects.last_seen_at IS 'When a run last met this record (retention clock)'",
]

DOWNGRADE = [
    "DROP INDEX sync_job_rejects_record_idx",
    "ALTER TABLE sync_job_rejects DROP COLUMN last_seen_at",
    "DROP TABLE sync_job_conflicts",
    "ALTER TABLE crawl_runs DROP COLUMN id_conflicts",
    "CREATE INDEX sync_jobs_active_updated_idx ON sync_jobs (updated_at)"
    " WHERE status IN ('waiting', 'running')",
    "DROP INDEX sync_jobs_active_moved_idx",
    "ALTER TABLE sync_jobs DROP COLUMN extra",
    "UPDATE sync_jobs SET "
    + ", ".join(f"{c} = COALESCE({c}, '')" for c in OPTIONAL_TEXT)
    + ", override = COALESCE(override, false), updated_at = COALESCE(updated_at, created_at)"
    + " WHERE "
    + " OR ".join(f"{c} IS NULL" for c in OPTIONAL),
    *(f"ALTER TABLE sync_jobs ALTER COLUMN {column} SET NOT NULL" for column in OPTIONAL),
]


def upgrade() -> None:
    """Relax the optional columns, add extra, the conflicts table and the rejects' de-duplication."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Undo upgrade(); NULLs in the optional columns become '' / false / created_at."""
    for statement in DOWNGRADE:
        op.execute(statement)
