"""Every SQL statement the application runs, each with a one-line comment on what it does."""

from __future__ import annotations

# Data columns of sync_jobs in the order the upsert copies them (region comes as a parameter).
JOB_COLUMNS: tuple[str, ...] = (
    "id",
    "namespace",
    "repo_name",
    "tag",
    "status",
    "override",
    "remote_region_id",
    "remote_namespace",
    "domain_id",
    "domain_name",
    "sync_operator_id",
    "sync_operator_name",
    "created_at",
    "updated_at",
    "extra",
)
_DATA = JOB_COLUMNS[1:]
# What a merge may change in a stored row: its repository never (see UPSERT_JOBS).
_MUTABLE = (*JOB_COLUMNS[3:], "last_seen_at", "last_run_id")

INCOMING_TABLE = "sync_jobs_incoming"

# Columns of a COPY straight into sync_jobs, for batches expected to be wholly new (first_seen_at and
# last_seen_at take their default, now(), as in UPSERT_JOBS).
JOBS_TABLE = "sync_jobs"
NEW_JOB_COLUMNS: tuple[str, ...] = ("region", "last_run_id", *JOB_COLUMNS)

# Session temp table the upsert COPYs into; emptied at every commit so batches never mix.
CREATE_INCOMING = f"""
CREATE TEMP TABLE IF NOT EXISTS {INCOMING_TABLE} (
    id bigint, namespace text, repo_name text, tag text, status text, override boolean,
    remote_region_id text, remote_namespace text, domain_id text, domain_name text,
    sync_operator_id text, sync_operator_name text, created_at timestamptz, updated_at timestamptz,
    extra jsonb
) ON COMMIT DELETE ROWS
"""

# Empty the temp table within a transaction (a batch merged in several rounds, see Store.upsert_jobs).
CLEAR_INCOMING = f"DELETE FROM pg_temp.{INCOMING_TABLE}"

# A job's identity is (region, id) within one repository: a record whose id is stored under another
# repository never overwrites that row.
_SAME_REPO = "(j.namespace, j.repo_name) = (EXCLUDED.namespace, EXCLUDED.repo_name)"

# Merge the copied batch: insert new jobs; update a job only when its data changed AND the observation
# is not known to be older than the stored one (an observation without updatedAt has no known age: the
# newer write wins); identical or older observations leave the row untouched (no new tuple). A record
# claiming another repository's id is rewritten unchanged (so that RETURNING names it; such records are
# rare) and kept in sync_job_conflicts. Returns (inserted, updated, id_conflicts); inserted rows are those
# with xmax = 0 (a fresh insert).
UPSERT_JOBS = f"""
WITH merged AS (
    INSERT INTO sync_jobs AS j (region, {", ".join(JOB_COLUMNS)}, first_seen_at, last_seen_at, last_run_id)
    SELECT $1, {", ".join(JOB_COLUMNS)}, now(), now(), $2 FROM pg_temp.{INCOMING_TABLE}
    ON CONFLICT (region, id) DO UPDATE SET
        {", ".join(f"{c} = CASE WHEN {_SAME_REPO} THEN EXCLUDED.{c} ELSE j.{c} END" for c in _MUTABLE)}
    WHERE NOT {_SAME_REPO}
       OR (({", ".join(f"j.{c}" for c in _DATA)})
              IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in _DATA)})
           AND (EXCLUDED.updated_at < j.updated_at) IS NOT TRUE)
    RETURNING j.id, j.namespace, j.repo_name, (j.xmax = 0) AS inserted
), conflicts AS (
    INSERT INTO sync_job_conflicts AS c
        (region, id, namespace, repo_name, stored_namespace, stored_repo_name, record, first_run_id,
         last_run_id)
    SELECT $1, i.id, i.namespace, i.repo_name, m.namespace, m.repo_name, to_jsonb(i), $2, $2
    FROM merged m JOIN pg_temp.{INCOMING_TABLE} i ON i.id = m.id
    WHERE NOT m.inserted AND (m.namespace, m.repo_name) <> (i.namespace, i.repo_name)
    ON CONFLICT (region, id, namespace, repo_name) DO UPDATE SET
        stored_namespace = EXCLUDED.stored_namespace, stored_repo_name = EXCLUDED.stored_repo_name,
        record = EXCLUDED.record, last_run_id = EXCLUDED.last_run_id, last_seen_at = now()
    RETURNING 1
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) - (SELECT count(*) FROM conflicts) AS updated,
       (SELECT count(*) FROM conflicts) AS id_conflicts
FROM merged
"""

# Every stored job (optionally of one region), for tests and small exports.
FETCH_JOBS = f"""
SELECT {", ".join(JOB_COLUMNS)} FROM sync_jobs WHERE $1::text IS NULL OR region = $1 ORDER BY region, id
"""

# Whether the database was ever migrated (asked first: a missing table would abort the statement).
REVISION_TABLE_EXISTS = "SELECT to_regclass('alembic_version') IS NOT NULL"

# The migration the database is at.
CURRENT_REVISION = "SELECT version_num FROM alembic_version LIMIT 1"

# Whether a database of that name exists on the server (the demo creates its own once).
DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = $1"

# Take a session-level advisory lock without waiting.
TRY_LOCK = "SELECT pg_try_advisory_lock($1::bigint)"

# Release a session-level advisory lock.
UNLOCK = "SELECT pg_advisory_unlock($1::bigint)"

# Close, as failed, the runs a dead process left 'running': those of the same sources (the caller holds
# their advisory lock, so none of them is alive) and, whatever their configuration, those whose heartbeat
# is older than $3 of their own heartbeat intervals. The counters stay as the last heartbeat wrote them;
# finished_at is the last time the run was known alive. (Rows from before heartbeats have none.)
CLOSE_ABANDONED_RUNS = """
UPDATE crawl_runs SET status = 'failed', finished_at = coalesce(heartbeat_at, now()),
    error = 'abandoned: the process ended without closing the run (counters as of its last heartbeat)'
WHERE status = 'running' AND (
    (sources = $1::text[] AND settings -> 'sources' = $2::jsonb)
    OR heartbeat_at < now() - make_interval(secs => $3 * (settings ->> 'heartbeat_interval')::float8)
)
RETURNING id
"""

# Open a run row in status 'running'.
START_RUN = "INSERT INTO crawl_runs (sources, settings) VALUES ($1, $2::jsonb) RETURNING id"

# A running run's heartbeat: its counters so far (never over a run already closed).
HEARTBEAT = """
UPDATE crawl_runs SET heartbeat_at = now(), repos_ok = $2, repos_failed = $3, repos_gone = $4,
    repos_flagged = $5, pages = $6, requests = $7, jobs_seen = $8, inserted = $9, updated = $10,
    unchanged = $11, rejected = $12, unknown_status = $13, id_conflicts = $14, repos_full = $15,
    repos_incremental = $16, repos_reread = $17, repos_left = $18, requests_saved = $19, jobs_gone = $20,
    throttled = $21
WHERE id = $1 AND status = 'running'
"""

# Close a run: final status, counters and the error (if any).
FINISH_RUN = """
UPDATE crawl_runs SET finished_at = now(), status = $2, repos_ok = $3, repos_failed = $4, repos_gone = $5,
    repos_flagged = $6, pages = $7, requests = $8, jobs_seen = $9, inserted = $10, updated = $11,
    unchanged = $12, rejected = $13, unknown_status = $14, error = $15, id_conflicts = $16,
    repos_full = $17, repos_incremental = $18, repos_reread = $19, repos_left = $20, requests_saved = $21,
    jobs_gone = $22
WHERE id = $1
"""

# What a run met of API Gateway's throttling: 429s received, the rate reached and the rate learned.
RECORD_RUN_PACING = "UPDATE crawl_runs SET throttled = $2, rate_reached = $3, rate_learned = $4 WHERE id = $1"

# The rates remembered for one source (its lock key), per API, with the run that learned each.
LEARNED_RATES = "SELECT api, rate, run_id FROM crawl_rates WHERE source = $1 ORDER BY api"

# Remember the rates a run ended at for one source, one row per API (arrays in), replacing older ones.
REMEMBER_RATES = """
INSERT INTO crawl_rates AS c (source, api, rate, run_id)
SELECT $1, u.api, u.rate, $2 FROM unnest($3::text[], $4::double precision[]) AS u(api, rate)
ON CONFLICT (source, api) DO UPDATE SET rate = EXCLUDED.rate, run_id = EXCLUDED.run_id
"""

# Keep one invalid record aside with its raw text and the reason, once per repository: a record met again
# (in this run or a later one) only has its reason and last_seen_at refreshed.
INSERT_REJECT = """
INSERT INTO sync_job_rejects AS r (run_id, region, namespace, repo_name, raw, reason)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (region, namespace, repo_name, md5(raw)) DO UPDATE SET
    reason = EXCLUDED.reason, last_seen_at = now()
"""

# Age out the rejects no run has met for longer than the retention ($1); returns how many went.
PRUNE_REJECTS = """
WITH pruned AS (DELETE FROM sync_job_rejects WHERE last_seen_at < now() - $1::interval RETURNING 1)
SELECT count(*) FROM pruned
"""

# Record one repository's problem in a run.
INSERT_REPO_ISSUE = """
INSERT INTO crawl_repo_issues
    (run_id, region, namespace, repo_name, kind, error_code, message, attempts, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
"""

# Remember how many repositories' crawls went, one statement for a whole batch (arrays in, one row per
# repository, overwritten every run); the caller passes each repository once. The incremental state (high-
# water mark, open jobs) moves only with a crawl that read the repository (ok or flagged); a failure keeps
# the previous one. Only an ok crawl counts as successful, only an ok full one as full.
UPSERT_REPO_STATES = """
INSERT INTO crawl_repositories AS r
    (region, namespace, repo_name, last_run_id, last_crawled_at, last_total, jobs_seen, max_job_id,
     last_status, high_water_id, high_water_created_at, open_jobs, oldest_open_created_at, last_full_at,
     last_success_at)
SELECT u.region, u.namespace, u.repo_name, $1, now(), u.last_total, u.jobs_seen, u.max_job_id, u.last_status,
    u.high_water_id, u.high_water_created_at, coalesce(u.open_jobs, 0), u.oldest_open_created_at,
    CASE WHEN u.last_status = 'ok' AND u.is_full THEN now() END,
    CASE WHEN u.last_status = 'ok' THEN now() END
FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[],
            $9::bigint[], $10::timestamptz[], $11::integer[], $12::timestamptz[], $13::boolean[])
    AS u(region, namespace, repo_name, last_total, jobs_seen, max_job_id, last_status, high_water_id,
         high_water_created_at, open_jobs, oldest_open_created_at, is_full)
ON CONFLICT (region, namespace, repo_name) DO UPDATE SET
    last_run_id = EXCLUDED.last_run_id, last_crawled_at = EXCLUDED.last_crawled_at,
    last_total = EXCLUDED.last_total, jobs_seen = EXCLUDED.jobs_seen,
    max_job_id = COALESCE(EXCLUDED.max_job_id, r.max_job_id), last_status = EXCLUDED.last_status,
    high_water_id = CASE WHEN EXCLUDED.last_status IN ('ok', 'flagged')
        THEN COALESCE(EXCLUDED.high_water_id, r.high_water_id) ELSE r.high_water_id END,
    high_water_created_at = CASE WHEN EXCLUDED.last_status IN ('ok', 'flagged')
        THEN COALESCE(EXCLUDED.high_water_created_at, r.high_water_created_at)
        ELSE r.high_water_created_at END,
    open_jobs = CASE WHEN EXCLUDED.last_status IN ('ok', 'flagged')
        THEN EXCLUDED.open_jobs ELSE r.open_jobs END,
    oldest_open_created_at = CASE WHEN EXCLUDED.last_status IN ('ok', 'flagged')
        THEN EXCLUDED.oldest_open_created_at ELSE r.oldest_open_created_at END,
    last_full_at = COALESCE(EXCLUDED.last_full_at, r.last_full_at),
    last_success_at = COALESCE(EXCLUDED.last_success_at, r.last_success_at)
"""

# The incremental state of every repository of a region, as the next run plans from it.
FETCH_REPO_STATES = """
SELECT namespace, repo_name, last_total, high_water_id, high_water_created_at, open_jobs,
       oldest_open_created_at, last_full_at, last_success_at
FROM crawl_repositories WHERE region = $1
"""

# After full crawls of some repositories of a region ($2, $3: the repositories; $4: every job id they listed:
# ids are unique in a region): mark the stored jobs they no longer list as gone upstream, and clear the
# mark of those listed again. The plan must stay linear whatever the statistics say (those of a table
# fresh from its first crawl are wrong): each repository's stored jobs are read through its index in a
# LATERAL subquery that OFFSET 0 keeps from being flattened (flattened, the whole region was scanned per
# batch and matched against every repository), EXCEPT is a hashed or sorted set operation (an anti-join
# planned as a nested loop took minutes), and id = ANY(ARRAY(...)) is index lookups. Returns how many
# were marked.
MARK_GONE_UPSTREAM = """
WITH unlisted AS (
    SELECT j.id FROM unnest($2::text[], $3::text[]) AS c(namespace, repo_name)
    CROSS JOIN LATERAL (
        SELECT id FROM sync_jobs
        WHERE namespace = c.namespace AND repo_name = c.repo_name AND region = $1
          AND gone_upstream_at IS NULL
        OFFSET 0
    ) j
    EXCEPT SELECT unnest($4::bigint[])
), marked AS (
    UPDATE sync_jobs SET gone_upstream_at = now()
    WHERE region = $1 AND id = ANY(ARRAY(SELECT id FROM unlisted))
    RETURNING 1
), back AS (
    UPDATE sync_jobs SET gone_upstream_at = NULL
    WHERE region = $1 AND gone_upstream_at IS NOT NULL AND id = ANY($4::bigint[])
    RETURNING 1
)
SELECT (SELECT count(*) FROM marked) AS marked, (SELECT count(*) FROM back) AS back
"""

# Whether this session still holds every advisory lock of $1/$2 (a bigint key shows as classid = its high
# half, objid = its low half, objsubid = 1), with the server's clock at the check.
LOCK_HELD = """
SELECT clock_timestamp() AS checked_at, (
    SELECT count(*) FROM pg_locks l
    JOIN unnest($1::bigint[], $2::bigint[]) AS k(classid, objid)
      ON l.classid = k.classid::oid AND l.objid = k.objid::oid
    WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted AND l.objsubid = 1
) = cardinality($1::bigint[]) AS held
"""

# The first run other than $3 sharing a source with $2 that started after $1 (while the lock was lost).
RUN_STARTED_SINCE = """
SELECT min(id) FROM crawl_runs WHERE id <> $3 AND started_at > $1 AND sources && $2::text[]
"""
