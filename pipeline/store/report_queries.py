"""The report's SQL: window sections read sync_jobs through its created_at index ($1 <= created_at < $2),
the all-time line reads the rollup that triggers keep (sync_job_daily), so neither scans the history."""

from __future__ import annotations

from pipeline.store.queries import JOB_COLUMNS

_WINDOW = "created_at >= $1 AND created_at < $2"
_FAILED = "status IN ('failed', 'timeout')"

# All-time jobs per status and the first day with any job, from the rollup (one row per day and key).
ALL_TIME = """
SELECT status, sum(jobs)::bigint AS jobs, min(day) AS first_day FROM sync_job_daily WHERE jobs > 0
GROUP BY status ORDER BY jobs DESC, status
"""

# Jobs created in the window per status, most frequent first.
BY_STATUS = f"""
SELECT status, count(*) AS count FROM sync_jobs WHERE {_WINDOW} GROUP BY status ORDER BY count DESC, status
"""

# Jobs created in the window per UTC day and status.
DAILY = f"""
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, status, count(*) AS jobs FROM sync_jobs
WHERE {_WINDOW} GROUP BY 1, 2 ORDER BY 1, 2
"""

# Failure (failed + timeout) rate per target region over the window's jobs.
FAILURE_BY_REGION = f"""
SELECT remote_region_id, count(*) AS total, count(*) FILTER (WHERE {_FAILED}) AS failed
FROM sync_jobs WHERE {_WINDOW} GROUP BY remote_region_id
ORDER BY failed DESC, total DESC, remote_region_id
"""

# Repositories with the most failed (failed + timeout) jobs created in the window.
TOP_FAILING = f"""
SELECT region, namespace, repo_name, count(*) FILTER (WHERE {_FAILED}) AS failed, count(*) AS total
FROM sync_jobs WHERE {_WINDOW} GROUP BY region, namespace, repo_name
HAVING count(*) FILTER (WHERE {_FAILED}) > 0
ORDER BY failed DESC, total DESC, region, namespace, repo_name LIMIT $3
"""

# Replication duration (updated_at - created_at) percentiles of the window's successful jobs per region.
DURATIONS = f"""
SELECT remote_region_id, count(*) AS jobs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at)) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at)) AS p95
FROM sync_jobs WHERE {_WINDOW} AND status = 'success' GROUP BY remote_region_id ORDER BY remote_region_id
"""

# When a job last moved as far as the API says: a job reported without updatedAt has not moved since its
# creation (sync_jobs_active_moved_idx is on this expression).
_MOVED_AT = "COALESCE(updated_at, created_at)"

# How many waiting/running jobs have not moved for longer than $1 (whenever created: stuck is now).
STUCK_COUNT = f"""
SELECT count(*) FROM sync_jobs
WHERE status IN ('waiting', 'running') AND {_MOVED_AT} < now() - $1::interval AND gone_upstream_at IS NULL
"""

# The oldest of those stuck jobs.
STUCK_OLDEST = f"""
SELECT region, {", ".join(JOB_COLUMNS)} FROM sync_jobs
WHERE status IN ('waiting', 'running') AND {_MOVED_AT} < now() - $1::interval AND gone_upstream_at IS NULL
ORDER BY {_MOVED_AT}, region, id LIMIT $2
"""

# The most recent run.
LATEST_RUN = """
SELECT id, started_at, finished_at, status, sources, repos_ok, repos_failed, repos_gone, repos_flagged,
       pages, requests, jobs_seen, inserted, updated, unchanged, rejected, unknown_status, error,
       repos_full, repos_incremental, repos_reread, repos_left, requests_saved, jobs_gone, id_conflicts,
       throttled, rate_reached, rate_learned, heartbeat_at
FROM crawl_runs ORDER BY id DESC LIMIT 1
"""
