"""Incremental crawls: per-repository high-water mark and open jobs, jobs gone upstream, status history.

- crawl_repositories: the newest job seen (id, createdAt), the jobs still waiting/running inside the
  open-job horizon at the last crawl and the oldest of them, the last full and last successful crawl;
- sync_jobs.gone_upstream_at: a full crawl no longer listed the job (it stays: history is the point);
- sync_job_changes: one row per observed change of a job's status, written by a trigger on the upsert's
  UPDATE (same statement, same transaction);
- crawl_runs: how many repositories each mode crawled, the requests that saved, what was left for later.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

REPO_COLUMNS = {
    "high_water_id": "bigint",
    "high_water_created_at": "timestamptz",
    "open_jobs": "integer NOT NULL DEFAULT 0",
    "oldest_open_created_at": "timestamptz",
    "last_full_at": "timestamptz",
    "last_success_at": "timestamptz",
}
RUN_COLUMNS = ("repos_full", "repos_incremental", "repos_reread", "repos_left", "requests_saved", "jobs_gone")

UPGRADE = [
    *(f"ALTER TABLE crawl_repositories ADD COLUMN {name} {kind}" for name, kind in REPO_COLUMNS.items()),
    *(f"ALTER TABLE crawl_runs ADD COLUMN {name} bigint NOT NULL DEFAULT 0" for name in RUN_COLUMNS),
    "ALTER TABLE sync_jobs ADD COLUMN gone_upstream_at timestamptz",
    "COMMENT ON COLUMN sync_jobs.gone_upstream_at IS"
    " 'When a full crawl of its repository no longer listed the job (NULL: still listed)'",
    """
    CREATE TABLE sync_job_changes (
        id             bigserial PRIMARY KEY,
        region         text NOT NULL,
        job_id         bigint NOT NULL,
        old_status     text,
        new_status     text,
        job_updated_at timestamptz,
        observed_at    timestamptz NOT NULL DEFAULT now(),
        run_id         bigint NOT NULL REFERENCES crawl_runs (id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX sync_job_changes_job_idx ON sync_job_changes (region, job_id, observed_at)",
    "COMMENT ON TABLE sync_job_changes IS"
    " 'One row per observed change of a job''s status (a job first seen is not a change)'",
    # The few jobs gone upstream, found at once when a full crawl lists one again.
    "CREATE INDEX sync_jobs_gone_idx ON sync_jobs (region, id) WHERE gone_upstream_at IS NOT NULL",
    # The status history is written by the upsert's own UPDATE: the old row is at hand (no second lookup
    # of every staged job), only rows whose status changes pay, and the row lock that the update holds
    # makes two batches carrying the same change record it once. A job first seen (an INSERT) is not a
    # change; unchanged rows are never updated.
    """
    CREATE FUNCTION sync_jobs_record_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO sync_job_changes (region, job_id, old_status, new_status, job_updated_at, run_id)
        VALUES (NEW.region, NEW.id, OLD.status, NEW.status, NEW.updated_at, NEW.last_run_id);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER sync_jobs_status_change AFTER UPDATE OF status ON sync_jobs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION sync_jobs_record_status_change()
    """,
]


def upgrade() -> None:
    """Add the incremental-crawl state, the gone-upstream mark and the status history."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Drop everything upgrade() added."""
    op.execute("DROP TRIGGER sync_jobs_status_change ON sync_jobs")
    op.execute("DROP FUNCTION sync_jobs_record_status_change()")
    op.execute("DROP INDEX sync_jobs_gone_idx")
    op.execute("DROP TABLE sync_job_changes")
    op.execute("ALTER TABLE sync_jobs DROP COLUMN gone_upstream_at")
    for name in RUN_COLUMNS:
        op.execute(f"ALTER TABLE crawl_runs DROP COLUMN {name}")
    for name in REPO_COLUMNS:
        op.execute(f"ALTER TABLE crawl_repositories DROP COLUMN {name}")
