"""Reporting: a daily rollup the database keeps itself, and views as the stable SQL interface.

sync_job_daily holds, per UTC day of creation, source region, target region and status, how many jobs
there are. Statement-level triggers with transition tables keep it exact whatever writes sync_jobs (the
crawler's COPY and upsert, a restore through INSERT/COPY, a backfill by plain SQL, updates, deletes,
TRUNCATE): one grouped statement per written statement, not per row, so the crawler's bulk writes pay
little. rebuild_sync_job_daily() recomputes it from sync_jobs for loads that bypass triggers
(session_replication_role = replica, pg_restore --disable-triggers).

The views read the rollup (daily counts over all history in milliseconds), or the base table through
the created_at and partial indexes (durations one day at a time, stuck jobs, the latest run).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

# NULLS NOT DISTINCT: a job's optional fields (target region; in principle even status or creation time)
# may be missing; such jobs are still counted, under a NULL key.
ROLLUP = """
CREATE TABLE sync_job_daily (
    day              date,
    region           text COLLATE "C" NOT NULL,
    remote_region_id text COLLATE "C",
    status           text COLLATE "C",
    jobs             bigint NOT NULL,
    CONSTRAINT sync_job_daily_key UNIQUE NULLS NOT DISTINCT (day, region, remote_region_id, status)
)
"""

# The UTC day of a job's creation: one definition shared by the rollup, its rebuild and the views.
DAY_OF = "(({0}.created_at AT TIME ZONE 'UTC')::date)"

# The triggers write the rollup as its owner: a role allowed to write sync_jobs needs no grant on it.
DEFINER = "SECURITY DEFINER SET search_path = public, pg_temp"

# Add signed counts to the rollup, keys in one order so that concurrent writers cannot deadlock.
APPLY = """
INSERT INTO sync_job_daily AS d (day, region, remote_region_id, status, jobs)
SELECT day, region, remote_region_id, status, sum(jobs) FROM ({deltas}) AS delta
GROUP BY day, region, remote_region_id, status HAVING sum(jobs) <> 0
ORDER BY day, region, remote_region_id, status
ON CONFLICT ON CONSTRAINT sync_job_daily_key DO UPDATE SET jobs = d.jobs + EXCLUDED.jobs
"""


def _counted(table: str, sign: str) -> str:
    day = DAY_OF.format(table)
    return (
        f"SELECT {day} AS day, region, remote_region_id, status, {sign}count(*) AS jobs FROM {table} "
        f"GROUP BY 1, 2, 3, 4"
    )


FUNCTIONS = {
    "sync_job_daily_inserted": APPLY.format(deltas=_counted("new_rows", "")),
    "sync_job_daily_deleted": APPLY.format(deltas=_counted("old_rows", "-")),
    "sync_job_daily_updated": APPLY.format(
        deltas=f"{_counted('new_rows', '')} UNION ALL {_counted('old_rows', '-')}"
    ),
}

TRIGGERS = [
    "CREATE TRIGGER sync_job_daily_insert AFTER INSERT ON sync_jobs REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_inserted()",
    "CREATE TRIGGER sync_job_daily_delete AFTER DELETE ON sync_jobs REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_deleted()",
    "CREATE TRIGGER sync_job_daily_update AFTER UPDATE ON sync_jobs"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_updated()",
    "CREATE TRIGGER sync_job_daily_truncate AFTER TRUNCATE ON sync_jobs"
    " FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_truncated()",
]

TRUNCATED = f"""
CREATE FUNCTION sync_job_daily_truncated() RETURNS trigger LANGUAGE plpgsql {DEFINER} AS $$
BEGIN
    TRUNCATE sync_job_daily;
    RETURN NULL;
END $$
"""

REBUILD = f"""
CREATE FUNCTION rebuild_sync_job_daily() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    days bigint;
BEGIN
    -- Writers wait while the rollup is recomputed, so no delta lands in between.
    LOCK TABLE sync_jobs IN SHARE MODE;
    DELETE FROM sync_job_daily;
    INSERT INTO sync_job_daily (day, region, remote_region_id, status, jobs)
    {_counted("sync_jobs", "")};
    GET DIAGNOSTICS days = ROW_COUNT;
    RETURN days;
END $$
"""

VIEWS = {
    # Jobs created per UTC day, by source region, target region and status (all history, from the rollup).
    "sync_jobs_daily": """
SELECT day, region, remote_region_id, status, jobs FROM sync_job_daily WHERE jobs > 0
""",
    # Failure (failed + timeout) rate per target region per UTC day of creation.
    "sync_failure_rate_daily": """
SELECT day, remote_region_id, sum(jobs) AS jobs,
       coalesce(sum(jobs) FILTER (WHERE status IN ('failed', 'timeout')), 0) AS failed,
       round(coalesce(sum(jobs) FILTER (WHERE status IN ('failed', 'timeout')), 0)::numeric
             / nullif(sum(jobs), 0), 4) AS failure_rate
FROM sync_job_daily WHERE jobs > 0 GROUP BY day, remote_region_id
""",
    # Replication duration (updated_at - created_at of successful jobs) percentiles per target region
    # and UTC day; each day is read through the created_at index, so a filter on day bounds the work.
    "sync_duration_daily": """
SELECT d.day, p.remote_region_id, p.jobs, p.p50_seconds, p.p95_seconds, p.max_seconds
FROM (SELECT DISTINCT day FROM sync_job_daily WHERE status = 'success' AND jobs > 0) AS d
CROSS JOIN LATERAL (
    SELECT j.remote_region_id, count(*) AS jobs,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.updated_at - j.created_at))
               AS p50_seconds,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM j.updated_at - j.created_at))
               AS p95_seconds,
           max(extract(epoch FROM j.updated_at - j.created_at)) AS max_seconds
    FROM sync_jobs AS j
    WHERE j.status = 'success'
      AND j.created_at >= d.day::timestamp AT TIME ZONE 'UTC'
      AND j.created_at < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
    GROUP BY j.remote_region_id
) AS p
""",
    # Waiting or running jobs by how long they have not moved (filter on stuck_for, e.g. > 1 hour); a job
    # reported without updatedAt has not moved since its creation; a job gone upstream is stuck no more.
    "sync_jobs_stuck": """
SELECT region, id, namespace, repo_name, tag, status, remote_region_id, created_at, updated_at,
       now() - COALESCE(updated_at, created_at) AS stuck_for
FROM sync_jobs WHERE status IN ('waiting', 'running') AND gone_upstream_at IS NULL
""",
    # The latest run, the latest successful run and the latest run's repository and request counts.
    "crawl_run_health": """
SELECT r.id AS run_id, r.status, r.started_at, r.finished_at, r.finished_at - r.started_at AS duration,
       r.repos_ok, r.repos_failed, r.repos_gone, r.repos_flagged, r.requests, r.jobs_seen, r.inserted,
       r.updated, r.rejected, r.error,
       ok.id AS last_ok_run_id, ok.finished_at AS last_ok_at, now() - ok.finished_at AS since_last_ok
FROM (SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1) AS r
LEFT JOIN LATERAL (
    SELECT id, finished_at FROM crawl_runs WHERE status = 'ok' ORDER BY id DESC LIMIT 1
) AS ok ON true
""",
}


def upgrade() -> None:
    """Create the rollup, fill it from the existing jobs, install its triggers, create the views."""
    # A crawl writing between the fill and the triggers would be missed: writers wait until commit.
    op.execute("LOCK TABLE sync_jobs IN SHARE MODE")
    op.execute(ROLLUP)
    op.execute(f"INSERT INTO sync_job_daily (day, region, remote_region_id, status, jobs) "
               f"{_counted('sync_jobs', '')}")  # fmt: skip
    for name, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql {DEFINER} AS $$\n"
            f"BEGIN\n{body};\nRETURN NULL;\nEND $$"
        )
    op.execute(TRUNCATED)
    op.execute(REBUILD)
    for statement in TRIGGERS:
        op.execute(statement)
    for name, body in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {body.strip()}")
    op.execute(
        "COMMENT ON TABLE sync_job_daily IS 'Jobs per UTC day of creation, region, target region and"
        " status; kept by triggers on sync_jobs (rebuild_sync_job_daily() recomputes it)'"
    )


def downgrade() -> None:
    """Drop the views, the triggers, their functions and the rollup."""
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    for statement in TRIGGERS:
        op.execute(f"DROP TRIGGER {statement.split()[2]} ON sync_jobs")
    for name in [*FUNCTIONS, "sync_job_daily_truncated", "rebuild_sync_job_daily"]:
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP TABLE sync_job_daily")
