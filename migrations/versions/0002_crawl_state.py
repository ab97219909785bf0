"""Crawl bookkeeping: per-repository issues, rejected records, repository state, durations view.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-27
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

STATEMENTS = [
    """
    CREATE TABLE crawl_repo_issues (
        id          bigserial PRIMARY KEY,
        run_id      bigint NOT NULL REFERENCES crawl_runs (id) ON DELETE CASCADE,
        region      text NOT NULL,
        namespace   text NOT NULL,
        repo_name   text NOT NULL,
        kind        text NOT NULL CHECK (kind IN ('failed', 'gone', 'flagged', 'skipped')),
        error_code  text,
        message     text NOT NULL,
        attempts    integer NOT NULL DEFAULT 0,
        detail      jsonb,
        recorded_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX crawl_repo_issues_run_idx ON crawl_repo_issues (run_id)",
    """
    CREATE TABLE sync_job_rejects (
        id          bigserial PRIMARY KEY,
        run_id      bigint NOT NULL REFERENCES crawl_runs (id) ON DELETE CASCADE,
        region      text NOT NULL,
        namespace   text NOT NULL,
        repo_name   text NOT NULL,
        raw         text NOT NULL,
        reason      text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX sync_job_rejects_run_idx ON sync_job_rejects (run_id)",
    "COMMENT ON COLUMN sync_job_rejects.raw IS 'Raw JSON text of the bad record (text, so any garbage fits)'",
    """
    CREATE TABLE crawl_repositories (
        region          text NOT NULL,
        namespace       text NOT NULL,
        repo_name       text NOT NULL,
        last_run_id     bigint NOT NULL REFERENCES crawl_runs (id),
        last_crawled_at timestamptz NOT NULL DEFAULT now(),
        last_total      integer,
        jobs_seen       integer NOT NULL DEFAULT 0,
        max_job_id      bigint,
        last_status     text NOT NULL CHECK (last_status IN ('ok', 'failed', 'gone', 'flagged')),
        PRIMARY KEY (region, namespace, repo_name)
    )
    """,
    "COMMENT ON TABLE crawl_repositories IS 'Per-repository crawl state, rewritten once per run'",
    """
    CREATE VIEW sync_job_durations AS
    SELECT region, id, namespace, repo_name, tag, status, remote_region_id,
           created_at, updated_at, updated_at - created_at AS duration
    FROM sync_jobs
    WHERE status IN ('success', 'failed', 'timeout', 'cancel', 'existed')
    """,
    "COMMENT ON VIEW sync_job_durations IS 'Jobs in a final status with duration = updated_at - created_at'",
]


def upgrade() -> None:
    """Create the crawl bookkeeping tables and the durations view."""
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop everything upgrade() created."""
    op.execute("DROP VIEW sync_job_durations")
    op.execute("DROP TABLE crawl_repositories")
    op.execute("DROP TABLE sync_job_rejects")
    op.execute("DROP TABLE crawl_repo_issues")
