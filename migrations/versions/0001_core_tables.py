"""Core tables: sync_jobs (the copied SWR sync jobs) and crawl_runs (one row per crawl).

Revision ID: 0001
Revises:
Create Date: 2025-11-27
"""

from __future__ import annotations

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

CRAWL_RUNS = """
CREATE TABLE crawl_runs (
    id             bigserial PRIMARY KEY,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    status         text NOT NULL DEFAULT 'running'
                   CHECK (status IN ('running', 'ok', 'partial', 'failed', 'interrupted')),
    sources        text[] NOT NULL DEFAULT '{}',
    repos_ok       integer NOT NULL DEFAULT 0,
    repos_failed   integer NOT NULL DEFAULT 0,
    repos_gone     integer NOT NULL DEFAULT 0,
    repos_flagged  integer NOT NULL DEFAULT 0,
    pages          bigint NOT NULL DEFAULT 0,
    requests       bigint NOT NULL DEFAULT 0,
    jobs_seen      bigint NOT NULL DEFAULT 0,
    inserted       bigint NOT NULL DEFAULT 0,
    updated        bigint NOT NULL DEFAULT 0,
    unchanged      bigint NOT NULL DEFAULT 0,
    rejected       bigint NOT NULL DEFAULT 0,
    unknown_status bigint NOT NULL DEFAULT 0,
    error          text,
    settings       jsonb
)
"""

# Indexed text columns use COLLATE "C": byte-order comparisons make index maintenance in the bulk upsert
# markedly cheaper than a libc locale, and report ordering identical on every server.
# No foreign key from sync_jobs.last_run_id: a per-row FK check would cost a large share of the
# bulk upsert's throughput, and runs are never deleted.
SYNC_JOBS = """
CREATE TABLE sync_jobs (
    region             text COLLATE "C" NOT NULL,
    id                 bigint NOT NULL,
    namespace          text COLLATE "C" NOT NULL,
    repo_name          text COLLATE "C" NOT NULL,
    tag                text NOT NULL,
    status             text COLLATE "C" NOT NULL,
    override           boolean NOT NULL,
    remote_region_id   text COLLATE "C" NOT NULL,
    remote_namespace   text NOT NULL,
    domain_id          text NOT NULL,
    domain_name        text NOT NULL,
    sync_operator_id   text NOT NULL,
    sync_operator_name text NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at       timestamptz NOT NULL DEFAULT now(),
    last_run_id        bigint NOT NULL,
    PRIMARY KEY (region, id)
)
"""

INDEXES = [
    "CREATE INDEX sync_jobs_status_idx ON sync_jobs (status)",
    "CREATE INDEX sync_jobs_remote_region_status_idx ON sync_jobs (remote_region_id, status)",
    "CREATE INDEX sync_jobs_repo_created_idx ON sync_jobs (namespace, repo_name, created_at)",
    "CREATE INDEX sync_jobs_created_at_idx ON sync_jobs (created_at)",
    "CREATE INDEX sync_jobs_active_updated_idx ON sync_jobs (updated_at)"
    " WHERE status IN ('waiting', 'running')",
]

COMMENTS = [
    "COMMENT ON TABLE sync_jobs IS 'SWR image-sync jobs as last observed; ids are unique per region only'",
    "COMMENT ON COLUMN sync_jobs.first_seen_at IS 'When the row was first inserted'",
    "COMMENT ON COLUMN sync_jobs.last_seen_at IS 'When a run last inserted or changed this row. Unchanged"
    " re-observations do not rewrite the row, so this is NOT the last time the job was seen by a crawl'",
    "COMMENT ON COLUMN sync_jobs.last_run_id IS 'crawl_runs.id of the run that last inserted or changed this"
    " row (unchanged re-observations do not touch it)'",
    "COMMENT ON TABLE crawl_runs IS 'One row per crawl run with its counters (settings: non-secret summary)'",
]


def upgrade() -> None:
    """Create crawl_runs, sync_jobs and the reporting indexes."""
    op.execute(CRAWL_RUNS)
    op.execute(SYNC_JOBS)
    for statement in INDEXES + COMMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop the core tables."""
    op.execute("DROP TABLE sync_jobs")
    op.execute("DROP TABLE crawl_runs")
