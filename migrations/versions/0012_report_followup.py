"""Reporting views for what later revisions recorded: the run's 429s, rates and modes, and status changes.

- crawl_run_health gains, after its columns of 0008 (a view's columns are only ever added), the latest
  run's 429s and rates (0009), its incremental-crawl counters (0007), its id conflicts (0006) and its
  heartbeat (0010). CREATE OR REPLACE keeps the view's grants, an operator's included.
- sync_job_status_durations summarises sync_job_changes (0007) per UTC day of the change, target region
  and transition: how many changes, and percentiles of the time from the job's creation to the change.
  A change is dated by the job's updatedAt at the change, else by when a crawl observed it; an index on
  that day lets a filter on `day` read only those days' changes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

# crawl_run_health as 0008 created it; 0012 appends columns to its select list. The latest run's columns
# are named: `SELECT *` would tie the view to every column crawl_runs has when it is created.
RUN_HEALTH = """
SELECT r.id AS run_id, r.status, r.started_at, r.finished_at, r.finished_at - r.started_at AS duration,
       r.repos_ok, r.repos_failed, r.repos_gone, r.repos_flagged, r.requests, r.jobs_seen, r.inserted,
       r.updated, r.rejected, r.error,
       ok.id AS last_ok_run_id, ok.finished_at AS last_ok_at, now() - ok.finished_at AS since_last_ok{more}
FROM (SELECT {columns} FROM crawl_runs ORDER BY id DESC LIMIT 1) AS r
LEFT JOIN LATERAL (
    SELECT id, finished_at FROM crawl_runs WHERE status = 'ok' ORDER BY id DESC LIMIT 1
) AS ok ON true
"""

# What `SELECT *` meant when 0008 ran (after 0007): the downgrade restores exactly that view.
COLUMNS_0008 = (
    "id, started_at, finished_at, status, sources, repos_ok, repos_failed, repos_gone, repos_flagged, pages,"
    " requests, jobs_seen, inserted, updated, unchanged, rejected, unknown_status, error, settings,"
    " id_conflicts, repos_full, repos_incremental, repos_reread, repos_left, requests_saved, jobs_gone"
)
COLUMNS = (
    "id, started_at, finished_at, status, repos_ok, repos_failed, repos_gone, repos_flagged, requests,"
    " jobs_seen, inserted, updated, rejected, error, throttled, rate_reached, rate_learned, repos_full,"
    " repos_incremental, repos_reread, repos_left, requests_saved, jobs_gone, id_conflicts, heartbeat_at"
)
ADDED = """,
       r.throttled, r.rate_reached, r.rate_learned, r.repos_full, r.repos_incremental, r.repos_reread,
       r.repos_left, r.requests_saved, r.jobs_gone, r.id_conflicts, r.heartbeat_at"""

# When a job changed status as far as the API says (its updatedAt), else when a crawl saw the change.
CHANGED_AT = "COALESCE(c.job_updated_at, c.observed_at)"
CHANGED_DAY = f"(({CHANGED_AT} AT TIME ZONE 'UTC')::date)"
SINCE_CREATED = f"extract(epoch FROM {CHANGED_AT} - j.created_at)"

STATUS_DURATIONS = f"""
SELECT {CHANGED_DAY} AS day, j.remote_region_id, c.old_status, c.new_status, count(*) AS changes,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {SINCE_CREATED}) AS p50_seconds,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY {SINCE_CREATED}) AS p95_seconds,
       max({SINCE_CREATED}) AS max_seconds
FROM sync_job_changes AS c JOIN sync_jobs AS j ON j.region = c.region AND j.id = c.job_id
GROUP BY 1, 2, 3, 4
"""

# A filter on the view's day becomes this expression on sync_job_changes: the index serves it.
CHANGED_DAY_INDEX = (
    f"CREATE INDEX sync_job_changes_day_idx ON sync_job_changes ({CHANGED_DAY.replace('c.', '')})"
)

# Default privileges (0011) give every new relation what tables get; a view is read only (as in 0011).
READ_ONLY = """
DO $$
DECLARE
    grantee regrole;
BEGIN
    FOR grantee IN
        SELECT DISTINCT p.grantee::regrole FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) p
        WHERE c.oid = '{view}'::regclass AND p.grantee NOT IN (0, c.relowner)
          AND p.privilege_type IN ('INSERT', 'UPDATE', 'DELETE')
    LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON {view} FROM %s', grantee);
    END LOOP;
END $$
"""

# Dropping a view drops its grants: the downgrade puts back those the view had (an operator's too).
RECREATE_KEEPING_GRANTS = """
DO $$
DECLARE
    grants text[];
    statement text;
    grantee regrole;
BEGIN
    SELECT coalesce(array_agg(format('GRANT %s ON {view} TO %s', p.privilege_type,
                                     CASE p.grantee WHEN 0 THEN 'PUBLIC' ELSE p.grantee::regrole::text END)),
                    '{{}}')
    INTO grants
    FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) p
    WHERE c.oid = '{view}'::regclass AND p.grantee <> c.relowner;
    DROP VIEW {view};
    CREATE VIEW {view} AS {body};
    FOR grantee IN
        SELECT DISTINCT p.grantee::regrole FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) p
        WHERE c.oid = '{view}'::regclass AND p.grantee NOT IN (0, c.relowner)
    LOOP
        EXECUTE format('REVOKE ALL ON {view} FROM %s', grantee);
    END LOOP;
    FOREACH statement IN ARRAY grants LOOP
        EXECUTE statement;
    END LOOP;
END $$
"""


def upgrade() -> None:
    """Append the run's new columns to crawl_run_health; add the status-change durations view."""
    op.execute(f"CREATE OR REPLACE VIEW crawl_run_health AS {RUN_HEALTH.format(columns=COLUMNS, more=ADDED)}")
    op.execute(CHANGED_DAY_INDEX)
    op.execute(f"CREATE VIEW sync_job_status_durations AS {STATUS_DURATIONS.strip()}")
    op.execute(READ_ONLY.format(view="sync_job_status_durations"))
    op.execute(
        "COMMENT ON VIEW sync_job_status_durations IS 'Status changes per UTC day of the change, target"
        " region and transition, with the time from the job''s creation to the change (p50, p95, max)'"
    )


def downgrade() -> None:
    """Drop the durations view and its index; give crawl_run_health back its 0008 columns and grants."""
    op.execute("DROP VIEW sync_job_status_durations")
    op.execute("DROP INDEX sync_job_changes_day_idx")
    body = RUN_HEALTH.format(columns=COLUMNS_0008, more="").strip()
    op.execute(RECREATE_KEEPING_GRANTS.format(view="crawl_run_health", body=body))
