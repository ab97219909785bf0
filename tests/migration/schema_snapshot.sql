column alembic_version.version_num character varying not null
column crawl_repo_issues.attempts integer not null default 0
column crawl_repo_issues.detail jsonb
column crawl_repo_issues.error_code text
column crawl_repo_issues.id bigint not null default nextval('crawl_repo_issues_id_seq'::regclass)
column crawl_repo_issues.kind text not null
column crawl_repo_issues.message text not null
column crawl_repo_issues.namespace text not null
column crawl_repo_issues.recorded_at timestamp with time zone not null default now()
column crawl_repo_issues.region text not null
column crawl_repo_issues.repo_name text not null
column crawl_repo_issues.run_id bigint not null
column crawl_repositories.jobs_seen integer not null default 0
column crawl_repositories.last_crawled_at timestamp with time zone not null default now()
column crawl_repositories.last_run_id bigint not null
column crawl_repositories.last_status text not null
column crawl_repositories.last_total integer
column crawl_repositories.max_job_id bigint
column crawl_repositories.namespace text not null
column crawl_repositories.region text not null
column crawl_repositories.repo_name text not null
column crawl_run_health.duration interval
column crawl_run_health.error text
column crawl_run_health.finished_at timestamp with time zone
column crawl_run_health.inserted bigint
column crawl_run_health.jobs_seen bigint
column crawl_run_health.last_ok_at timestamp with time zone
column crawl_run_health.last_ok_run_id bigint
column crawl_run_health.rejected bigint
column crawl_run_health.repos_failed integer
column crawl_run_health.repos_flagged integer
column crawl_run_health.repos_gone integer
column crawl_run_health.repos_ok integer
column crawl_run_health.requests bigint
column crawl_run_health.run_id bigint
column crawl_run_health.since_last_ok interval
column crawl_run_health.started_at timestamp with time zone
column crawl_run_health.status text
column crawl_run_health.updated bigint
column crawl_runs.error text
column crawl_runs.finished_at timestamp with time zone
column crawl_runs.id bigint not null default nextval('crawl_runs_id_seq'::regclass)
column crawl_runs.inserted bigint not null default 0
column crawl_runs.jobs_seen bigint not null default 0
column crawl_runs.pages bigint not null default 0
column crawl_runs.rejected bigint not null default 0
column crawl_runs.repos_failed integer not null default 0
column crawl_runs.repos_flagged integer not null default 0
column crawl_runs.repos_gone integer not null default 0
column crawl_runs.repos_ok integer not null default 0
column crawl_runs.requests bigint not null default 0
column crawl_runs.settings jsonb
column crawl_runs.sources _text not null default '{}'::text[]
column crawl_runs.started_at timestamp with time zone not null default now()
column crawl_runs.status text not null default 'running'::text
column crawl_runs.unchanged bigint not null default 0
column crawl_runs.unknown_status bigint not null default 0
column crawl_runs.updated bigint not null default 0
column sync_duration_daily.day date
column sync_duration_daily.jobs bigint
column sync_duration_daily.max_seconds numeric
column sync_duration_daily.p50_seconds double precision
column sync_duration_daily.p95_seconds double precision
column sync_duration_daily.remote_region_id text collate C
column sync_failure_rate_daily.day date
column sync_failure_rate_daily.failed numeric
column sync_failure_rate_daily.failure_rate numeric
column sync_failure_rate_daily.jobs numeric
column sync_failure_rate_daily.remote_region_id text collate C
column sync_job_daily.day date
column sync_job_daily.jobs bigint not null
column sync_job_daily.region text collate C not null
column sync_job_daily.remote_region_id text collate C
column sync_job_daily.status text collate C
column sync_job_durations.created_at timestamp with time zone
column sync_job_durations.duration interval
column sync_job_durations.id bigint
column sync_job_durations.namespace text collate C
column sync_job_durations.region text collate C
column sync_job_durations.remote_region_id text collate C
column sync_job_durations.repo_name text collate C
column sync_job_durations.status text collate C
column sync_job_durations.tag text
column sync_job_durations.updated_at timestamp with time zone
column sync_job_rejects.id bigint not null default nextval('sync_job_rejects_id_seq'::regclass)
column sync_job_rejects.namespace text not null
column sync_job_rejects.raw text not null
column sync_job_rejects.reason text not null
column sync_job_rejects.recorded_at timestamp with time zone not null default now()
column sync_job_rejects.region text not null
column sync_job_rejects.repo_name text not null
column sync_job_rejects.run_id bigint not null
column sync_jobs.created_at timestamp with time zone not null
column sync_jobs.domain_id text not null
column sync_jobs.domain_name text not null
column sync_jobs.first_seen_at timestamp with time zone not null default now()
column sync_jobs.id bigint not null
column sync_jobs.last_run_id bigint not null
column sync_jobs.last_seen_at timestamp with time zone not null default now()
column sync_jobs.namespace text collate C not null
column sync_jobs.override boolean not null
column sync_jobs.region text collate C not null
column sync_jobs.remote_namespace text not null
column sync_jobs.remote_region_id text collate C not null
column sync_jobs.repo_name text collate C not null
column sync_jobs.status text collate C not null
column sync_jobs.sync_operator_id text not null
column sync_jobs.sync_operator_name text not null
column sync_jobs.tag text not null
column sync_jobs.updated_at timestamp with time zone not null
column sync_jobs_daily.day date
column sync_jobs_daily.jobs bigint
column sync_jobs_daily.region text collate C
column sync_jobs_daily.remote_region_id text collate C
column sync_jobs_daily.status text collate C
column sync_jobs_stuck.created_at timestamp with time zone
column sync_jobs_stuck.id bigint
column sync_jobs_stuck.namespace text collate C
column sync_jobs_stuck.region text collate C
column sync_jobs_stuck.remote_region_id text collate C
column sync_jobs_stuck.repo_name text collate C
column sync_jobs_stuck.status text collate C
column sync_jobs_stuck.stuck_for interval
column sync_jobs_stuck.tag text
column sync_jobs_stuck.updated_at timestamp with time zone
comment crawl_repositories Per-repository crawl state, rewritten once per run
comment crawl_runs One row per crawl run with its counters (settings: non-secret summary)
comment sync_job_daily Jobs per UTC day of creation, region, target region and status; kept by triggers on sync_jobs (rebuild_sync_job_daily() recomputes it)
comment sync_job_durations Jobs in a final status with duration = updated_at - created_at
comment sync_job_rejects.raw Raw JSON text of the bad record (text, so any garbage fits)
comment sync_jobs SWR image-sync jobs as last observed; ids are unique per region only
comment sync_jobs.first_seen_at When the row was first inserted
comment sync_jobs.last_run_id crawl_runs.id of the run that last inserted or changed this row (unchanged re-observations do not touch it)
comment sync_jobs.last_seen_at When a run last inserted or changed this row. Unchanged re-observations do not rewrite the row, so this is NOT the last time the job was seen by a crawl
constraint alembic_version alembic_version_pkc PRIMARY KEY (version_num)
constraint crawl_repo_issues crawl_repo_issues_kind_check CHECK ((kind = ANY (ARRAY['failed'::text, 'gone'::text, 'flagged'::text, 'skipped'::text])))
constraint crawl_repo_issues crawl_repo_issues_pkey PRIMARY KEY (id)
constraint crawl_repo_issues crawl_repo_issues_run_id_fkey FOREIGN KEY (run_id) REFERENCES crawl_runs(id) ON DELETE CASCADE
constraint crawl_repositories crawl_repositories_last_run_id_fkey FOREIGN KEY (last_run_id) REFERENCES crawl_runs(id)
constraint crawl_repositories crawl_repositories_last_status_check CHECK ((last_status = ANY (ARRAY['ok'::text, 'failed'::text, 'gone'::text, 'flagged'::text])))
constraint crawl_repositories crawl_repositories_pkey PRIMARY KEY (region, namespace, repo_name)
constraint crawl_runs crawl_runs_pkey PRIMARY KEY (id)
constraint crawl_runs crawl_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'ok'::text, 'partial'::text, 'failed'::text, 'interrupted'::text])))
constraint sync_job_daily sync_job_daily_key UNIQUE NULLS NOT DISTINCT (day, region, remote_region_id, status)
constraint sync_job_rejects sync_job_rejects_pkey PRIMARY KEY (id)
constraint sync_job_rejects sync_job_rejects_run_id_fkey FOREIGN KEY (run_id) REFERENCES crawl_runs(id) ON DELETE CASCADE
constraint sync_jobs sync_jobs_pkey PRIMARY KEY (region, id)
function CREATE OR REPLACE FUNCTION public.rebuild_sync_job_daily() RETURNS bigint LANGUAGE plpgsql AS $function$ DECLARE days bigint; BEGIN -- Writers wait while the rollup is recomputed, so no delta lands in between. LOCK TABLE sync_jobs IN SHARE MODE; DELETE FROM sync_job_daily; INSERT INTO sync_job_daily (day, region, remote_region_id, status, jobs) SELECT ((sync_jobs.created_at AT TIME ZONE 'UTC')::date) AS day, region, remote_region_id, status, count(*) AS jobs FROM sync_jobs GROUP BY 1, 2, 3, 4; GET DIAGNOSTICS days = ROW_COUNT; RETURN days; END $function$ 
function CREATE OR REPLACE FUNCTION public.sync_job_daily_deleted() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'public', 'pg_temp' AS $function$ BEGIN INSERT INTO sync_job_daily AS d (day, region, remote_region_id, status, jobs) SELECT day, region, remote_region_id, status, sum(jobs) FROM (SELECT ((old_rows.created_at AT TIME ZONE 'UTC')::date) AS day, region, remote_region_id, status, -count(*) AS jobs FROM old_rows GROUP BY 1, 2, 3, 4) AS delta GROUP BY day, region, remote_region_id, status HAVING sum(jobs) <> 0 ORDER BY day, region, remote_region_id, status ON CONFLICT ON CONSTRAINT sync_job_daily_key DO UPDATE SET jobs = d.jobs + EXCLUDED.jobs ; RETURN NULL; END $function$ 
function CREATE OR REPLACE FUNCTION public.sync_job_daily_inserted() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'public', 'pg_temp' AS $function$ BEGIN INSERT INTO sync_job_daily AS d (day, region, remote_region_id, status, jobs) SELECT day, region, remote_region_id, status, sum(jobs) FROM (SELECT ((new_rows.created_at AT TIME ZONE 'UTC')::date) AS day, region, remote_region_id, status, count(*) AS jobs FROM new_rows GROUP BY 1, 2, 3, 4) AS delta GROUP BY day, region, remote_region_id, status HAVING sum(jobs) <> 0 ORDER BY day, region, remote_region_id, status ON CONFLICT ON CONSTRAINT sync_job_daily_key DO UPDATE SET jobs = d.jobs + EXCLUDED.jobs ; RETURN NULL; END $function$ 
function CREATE OR REPLACE FUNCTION public.sync_job_daily_truncated() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'public', 'pg_temp' AS $function$ BEGIN TRUNCATE sync_job_daily; RETURN NULL; END $function$ 
function CREATE OR REPLACE FUNCTION public.sync_job_daily_updated() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'public', 'pg_temp' AS $function$ BEGIN INSERT INTO sync_job_daily AS d (day, region, remote_region_id, status, jobs) SELECT day, region, remote_region_id, status, sum(jobs) FROM (SELECT ((new_rows.created_at AT TIME ZONE 'UTC')::date) AS day, region, remote_region_id, status, count(*) AS jobs FROM new_rows GROUP BY 1, 2, 3, 4 UNION ALL SELECT ((old_rows.created_at AT TIME ZONE 'UTC')::date) AS day, region, remote_region_id, status, -count(*) AS jobs FROM old_rows GROUP BY 1, 2, 3, 4) AS delta GROUP BY day, region, remote_region_id, status HAVING sum(jobs) <> 0 ORDER BY day, region, remote_region_id, status ON CONFLICT ON CONSTRAINT sync_job_daily_key DO UPDATE SET jobs = d.jobs + EXCLUDED.jobs ; RETURN NULL; END $function$ 
index CREATE INDEX crawl_repo_issues_run_idx ON public.crawl_repo_issues USING btree (run_id)
index CREATE INDEX sync_job_rejects_run_idx ON public.sync_job_rejects USING btree (run_id)
index CREATE INDEX sync_jobs_active_updated_idx ON public.sync_jobs USING btree (updated_at) WHERE (status = ANY (ARRAY['waiting'::text, 'running'::text]))
index CREATE INDEX sync_jobs_created_at_idx ON public.sync_jobs USING btree (created_at)
index CREATE INDEX sync_jobs_failed_region_created_idx ON public.sync_jobs USING btree (remote_region_id, created_at) WHERE (status = ANY (ARRAY['failed'::text, 'timeout'::text]))
index CREATE INDEX sync_jobs_repo_created_idx ON public.sync_jobs USING btree (namespace, repo_name, created_at)
index CREATE UNIQUE INDEX alembic_version_pkc ON public.alembic_version USING btree (version_num)
index CREATE UNIQUE INDEX crawl_repo_issues_pkey ON public.crawl_repo_issues USING btree (id)
index CREATE UNIQUE INDEX crawl_repositories_pkey ON public.crawl_repositories USING btree (region, namespace, repo_name)
index CREATE UNIQUE INDEX crawl_runs_pkey ON public.crawl_runs USING btree (id)
index CREATE UNIQUE INDEX sync_job_daily_key ON public.sync_job_daily USING btree (day, region, remote_region_id, status) NULLS NOT DISTINCT
index CREATE UNIQUE INDEX sync_job_rejects_pkey ON public.sync_job_rejects USING btree (id)
index CREATE UNIQUE INDEX sync_jobs_pkey ON public.sync_jobs USING btree (region, id)
trigger CREATE TRIGGER sync_job_daily_delete AFTER DELETE ON public.sync_jobs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_deleted()
trigger CREATE TRIGGER sync_job_daily_insert AFTER INSERT ON public.sync_jobs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_inserted()
trigger CREATE TRIGGER sync_job_daily_truncate AFTER TRUNCATE ON public.sync_jobs FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_truncated()
trigger CREATE TRIGGER sync_job_daily_update AFTER UPDATE ON public.sync_jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_updated()
view crawl_run_health SELECT id AS run_id, status, started_at, finished_at, (finished_at - started_at) AS duration, repos_ok, repos_failed, repos_gone, repos_flagged, requests, jobs_seen, inserted, updated, rejected, error, id AS last_ok_run_id, finished_at AS last_ok_at, (now() - finished_at) AS since_last_ok FROM (( SELECT id, started_at, finished_at, status, sources, repos_ok, repos_failed, repos_gone, repos_flagged, pages, requests, jobs_seen, inserted, updated, unchanged, rejected, unknown_status, error, settings FROM crawl_runs ORDER BY id DESC LIMIT 1) r LEFT JOIN LATERAL ( SELECT id, finished_at FROM crawl_runs WHERE (status = 'ok'::text) ORDER BY id DESC LIMIT 1) ok ON (true));
view sync_duration_daily SELECT day, remote_region_id, jobs, p50_seconds, p95_seconds, max_seconds FROM (( SELECT DISTINCT day FROM sync_job_daily WHERE ((status = 'success'::text) AND (jobs > 0))) d CROSS JOIN LATERAL ( SELECT remote_region_id, count(*) AS jobs, percentile_cont((5)::double precision) WITHIN GROUP (ORDER BY ((EXTRACT(epoch FROM (updated_at - created_at)))::double precision)) AS p50_seconds, percentile_cont((95)::double precision) WITHIN GROUP (ORDER BY ((EXTRACT(epoch FROM (updated_at - created_at)))::double precision)) AS p95_seconds, max(EXTRACT(epoch FROM (updated_at - created_at))) AS max_seconds FROM sync_jobs j WHERE ((status = 'success'::text) AND (created_at >= ((day)::timestamp without time zone AT TIME ZONE 'UTC'::text)) AND (created_at < (((day + 1))::timestamp without time zone AT TIME ZONE 'UTC'::text))) GROUP BY remote_region_id) p);
view sync_failure_rate_daily SELECT day, remote_region_id, sum(jobs) AS jobs, COALESCE(sum(jobs) FILTER (WHERE (status = ANY (ARRAY['failed'::text, 'timeout'::text]))), (0)::numeric) AS failed, round((COALESCE(sum(jobs) FILTER (WHERE (status = ANY (ARRAY['failed'::text, 'timeout'::text]))), (0)::numeric) / NULLIF(sum(jobs), (0)::numeric)), 4) AS failure_rate FROM sync_job_daily WHERE (jobs > 0) GROUP BY day, remote_region_id;
view sync_job_durations SELECT region, id, namespace, repo_name, tag, status, remote_region_id, created_at, updated_at, (updated_at - created_at) AS duration FROM sync_jobs WHERE (status = ANY (ARRAY['success'::text, 'failed'::text, 'timeout'::text, 'cancel'::text, 'existed'::text]));
view sync_jobs_daily SELECT day, region, remote_region_id, status, jobs FROM sync_job_daily WHERE (jobs > 0);
view sync_jobs_stuck SELECT region, id, namespace, repo_name, tag, status, remote_region_id, created_at, updated_at, (now() - updated_at) AS stuck_for FROM sync_jobs WHERE (status = ANY (ARRAY['waiting'::text, 'running'::text]));
