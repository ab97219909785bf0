column alembic_version.version_num character varying not null
column crawl_rates.api text not null
column crawl_rates.rate double precision not null
column crawl_rates.run_id bigint
column crawl_rates.source text not null
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
column crawl_repositories.high_water_created_at timestamp with time zone
column crawl_repositories.high_water_id bigint
column crawl_repositories.jobs_seen bigint not null default 0
column crawl_repositories.last_crawled_at timestamp with time zone not null default now()
column crawl_repositories.last_full_at timestamp with time zone
column crawl_repositories.last_run_id bigint not null
column crawl_repositories.last_status text not null
column crawl_repositories.last_success_at timestamp with time zone
column crawl_repositories.last_total bigint
column crawl_repositories.max_job_id bigint
column crawl_repositories.namespace text not null
column crawl_repositories.oldest_open_created_at timestamp with time zone
column crawl_repositories.open_jobs integer not null default 0
column crawl_repositories.region text not null
column crawl_repositories.repo_name text not null
column crawl_run_health.duration interval
column crawl_run_health.error text
column crawl_run_health.finished_at timestamp with time zone
column crawl_run_health.heartbeat_at timestamp with time zone
column crawl_run_health.id_conflicts bigint
column crawl_run_health.inserted bigint
column crawl_run_health.jobs_gone bigint
column crawl_run_health.jobs_seen bigint
column crawl_run_health.last_ok_at timestamp with time zone
column crawl_run_health.last_ok_run_id bigint
column crawl_run_health.rate_learned double precision
column crawl_run_health.rate_reached double precision
column crawl_run_health.rejected bigint
column crawl_run_health.repos_failed bigint
column crawl_run_health.repos_flagged bigint
column crawl_run_health.repos_full bigint
column crawl_run_health.repos_gone bigint
column crawl_run_health.repos_incremental bigint
column crawl_run_health.repos_left bigint
column crawl_run_health.repos_ok bigint
column crawl_run_health.repos_reread bigint
column crawl_run_health.requests bigint
column crawl_run_health.requests_saved bigint
column crawl_run_health.run_id bigint
column crawl_run_health.since_last_ok interval
column crawl_run_health.started_at timestamp with time zone
column crawl_run_health.status text
column crawl_run_health.throttled integer
column crawl_run_health.updated bigint
column crawl_runs.error text
column crawl_runs.finished_at timestamp with time zone
column crawl_runs.heartbeat_at timestamp with time zone default now()
column crawl_runs.id bigint not null default nextval('crawl_runs_id_seq'::regclass)
column crawl_runs.id_conflicts bigint not null default 0
column crawl_runs.inserted bigint not null default 0
column crawl_runs.jobs_gone bigint not null default 0
column crawl_runs.jobs_seen bigint not null default 0
column crawl_runs.pages bigint not null default 0
column crawl_runs.rate_learned double precision
column crawl_runs.rate_reached double precision
column crawl_runs.rejected bigint not null default 0
column crawl_runs.repos_failed bigint not null default 0
column crawl_runs.repos_flagged bigint not null default 0
column crawl_runs.repos_full bigint not null default 0
column crawl_runs.repos_gone bigint not null default 0
column crawl_runs.repos_incremental bigint not null default 0
column crawl_runs.repos_left bigint not null default 0
column crawl_runs.repos_ok bigint not null default 0
column crawl_runs.repos_reread bigint not null default 0
column crawl_runs.requests bigint not null default 0
column crawl_runs.requests_saved bigint not null default 0
column crawl_runs.settings jsonb
column crawl_runs.sources _text not null default '{}'::text[]
column crawl_runs.started_at timestamp with time zone not null default now()
column crawl_runs.status text not null default 'running'::text
column crawl_runs.throttled integer not null default 0
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
column sync_job_changes.id bigint not null default nextval('sync_job_changes_id_seq'::regclass)
column sync_job_changes.job_id bigint not null
column sync_job_changes.job_updated_at timestamp with time zone
column sync_job_changes.new_status text
column sync_job_changes.observed_at timestamp with time zone not null default now()
column sync_job_changes.old_status text
column sync_job_changes.region text not null
column sync_job_changes.run_id bigint not null
column sync_job_conflicts.first_run_id bigint not null
column sync_job_conflicts.first_seen_at timestamp with time zone not null default now()
column sync_job_conflicts.id bigint not null
column sync_job_conflicts.last_run_id bigint not null
column sync_job_conflicts.last_seen_at timestamp with time zone not null default now()
column sync_job_conflicts.namespace text not null
column sync_job_conflicts.record jsonb not null
column sync_job_conflicts.region text not null
column sync_job_conflicts.repo_name text not null
column sync_job_conflicts.stored_namespace text not null
column sync_job_conflicts.stored_repo_name text not null
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
column sync_job_rejects.last_seen_at timestamp with time zone not null default now()
column sync_job_rejects.namespace text not null
column sync_job_rejects.raw text not null
column sync_job_rejects.reason text not null
column sync_job_rejects.recorded_at timestamp with time zone not null default now()
column sync_job_rejects.region text not null
column sync_job_rejects.repo_name text not null
column sync_job_rejects.run_id bigint not null
column sync_job_status_durations.changes bigint
column sync_job_status_durations.day date
column sync_job_status_durations.max_seconds numeric
column sync_job_status_durations.new_status text
column sync_job_status_durations.old_status text
column sync_job_status_durations.p50_seconds double precision
column sync_job_status_durations.p95_seconds double precision
column sync_job_status_durations.remote_region_id text collate C
column sync_jobs.created_at timestamp with time zone not null
column sync_jobs.domain_id text
column sync_jobs.domain_name text
column sync_jobs.extra jsonb
column sync_jobs.first_seen_at timestamp with time zone not null default now()
column sync_jobs.gone_upstream_at timestamp with time zone
column sync_jobs.id bigint not null
column sync_jobs.last_run_id bigint not null
column sync_jobs.last_seen_at timestamp with time zone not null default now()
column sync_jobs.namespace text collate C not null
column sync_jobs.override boolean
column sync_jobs.region text collate C not null
column sync_jobs.remote_namespace text
column sync_jobs.remote_region_id text collate C
column sync_jobs.repo_name text collate C not null
column sync_jobs.status text collate C not null
column sync_jobs.sync_operator_id text
column sync_jobs.sync_operator_name text
column sync_jobs.tag text
column sync_jobs.updated_at timestamp with time zone
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
comment crawl_rates Requests/second API Gateway granted per source (lock key) and API, as the last run paced at it: the next run starts there
comment crawl_repositories Per-repository crawl state, rewritten once per run
comment crawl_runs One row per crawl run with its counters (settings: non-secret summary)
comment crawl_runs.heartbeat_at When the run last wrote its counters; a stale one while running means the process died
comment sync_job_changes One row per observed change of a job's status (a job first seen is not a change)
comment sync_job_conflicts Records whose id is stored under another repository (the stored row is kept); record is the conflicting observation
comment sync_job_daily Jobs per UTC day of creation, region, target region and status; kept by triggers on sync_jobs (rebuild_sync_job_daily() recomputes it)
comment sync_job_durations Jobs in a final status with duration = updated_at - created_at
comment sync_job_rejects.last_seen_at When a run last met this record (retention clock)
comment sync_job_rejects.raw Raw JSON text of the bad record (text, so any garbage fits)
comment sync_job_status_durations Status changes per UTC day of the change, target region and transition, with the time from the job's creation to the change (p50, p95, max)
comment sync_jobs SWR image-sync jobs as last observed; ids are unique per region only
comment sync_jobs.extra The record's undocumented fields (NULL: it had none)
comment sync_jobs.first_seen_at When the row was first inserted
comment sync_jobs.gone_upstream_at When a full crawl of its repository no longer listed the job (NULL: still listed)
comment sync_jobs.last_run_id crawl_runs.id of the run that last inserted or changed this row (unchanged re-observations do not touch it)
comment sync_jobs.last_seen_at When a run last inserted or changed this row. Unchanged re-observations do not rewrite the row, so this is NOT the last time the job was seen by a crawl
constraint alembic_version alembic_version_pkc PRIMARY KEY (version_num)
constraint crawl_rates crawl_rates_pkey PRIMARY KEY (source, api)
constraint crawl_rates crawl_rates_rate_check CHECK ((rate > (0)::double precision))
constraint crawl_rates crawl_rates_run_id_fkey FOREIGN KEY (run_id) REFERENCES crawl_runs(id) ON DELETE SET NULL
constraint crawl_repo_issues crawl_repo_issues_kind_check CHECK ((kind = ANY (ARRAY['failed'::text, 'gone'::text, 'flagged'::text, 'skipped'::text])))
constraint crawl_repo_issues crawl_repo_issues_pkey PRIMARY KEY (id)
constraint crawl_repo_issues crawl_repo_issues_run_id_fkey FOREIGN KEY (run_id) REFERENCES crawl_runs(id) ON DELETE CASCADE
constraint crawl_repositories crawl_repositories_last_run_id_fkey FOREIGN KEY (last_run_id) REFERENCES crawl_runs(id)
constraint crawl_repositories crawl_repositories_last_status_check CHECK ((last_status = ANY (ARRAY['ok'::text, 'failed'::text, 'gone'::text, 'flagged'::text])))
constraint crawl_repositories crawl_repositories_pkey PRIMARY KEY (region, namespace, repo_name)
constraint crawl_runs crawl_runs_pkey PRIMARY KEY (id)
constraint crawl_runs crawl_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'ok'::text, 'partial'::text, 'failed'::text, 'interrupted'::text])))
constraint sync_job_changes sync_job_changes_pkey PRIMARY KEY (id)
constraint sync_job_changes sync_job_changes_run_id_fkey FOREIGN KEY (run_id) REFERENCES crawl_runs(id) ON DELETE CASCADE
constraint sync_job_conflicts sync_job_conflicts_first_run_id_fkey FOREIGN KEY (first_run_id) REFERENCES crawl_runs(id) ON DELETE CASCADE
constraint sync_job_conflicts sync_job_conflicts_last_run_id_fkey FOREIGN KEY (last_run_id) REFERENCES crawl_runs(id) ON DELETE CASCADE
constraint sync_job_conflicts sync_job_conflicts_pkey PRIMARY KEY (region, id, namespace, repo_name)
constraint sync_job_daily sync_job_daily_key UNIQUE NULLS NOT DISTINCT (day, region, remote_region_id, status)
constraint sync_job_rejects sync_job_rejects_pkey PRIMARY KEY (id)
constraint sync_job_rejects sync_job_rejects_run_id_fkey FOREIGN KEY (run_id) REFERENCES crawl_runs(id) ON DELETE CASCADE
constraint sync_jobs sync_jobs_pkey PRIMARY KEY (region, id)
default privileges on sequences to swr_etl_writer: USAGE
default privileges on tables to swr_etl_reader: SELECT
default privileges on tables to swr_etl_writer: INSERT, SELECT, UPDATE
function CREATE OR REPLACE FUNCTION public.rebuild_sync_job_daily() RETURNS bigint LANGUAGE plpgsql AS $function$ DECLARE days bigint; BEGIN -- Writers wait while the rollup is recomputed, so no delta lands in between. LOCK TABLE sync_jobs IN SHARE MODE; DELETE FROM sync_job_daily; INSERT INTO sync_job_daily (day, region, remote_region_id, status, jobs) SELECT ((sync_jobs.created_at AT TIME ZONE 'UTC')::date) AS day, region, remote_region_id, status, count(*) AS jobs FROM sync_jobs GROUP BY 1, 2, 3, 4; GET DIAGNOSTICS days = ROW_COUNT; RETURN days; END $function$ 
function CREATE OR REPLACE FUNCTION public.swr_etl_grant_roles(writer text DEFAULT 'swr_etl_writer'::text, reader text DEFAULT 'swr_etl_reader'::text) RETURNS void LANGUAGE plpgsql AS $function$ DECLARE schema text := current_schema(); name text; rel record; has_writer boolean; has_reader boolean; BEGIN FOREACH name IN ARRAY ARRAY[writer, reader] LOOP CONTINUE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = name); BEGIN EXECUTE format('CREATE ROLE %I NOLOGIN', name); EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'role % not created: % may not CREATE ROLE; create it (NOLOGIN), then run' ' SELECT swr_etl_grant_roles() as %', name, current_user, current_user; WHEN duplicate_object OR unique_violation THEN NULL; -- created meanwhile by the migration of another database END; END LOOP; has_writer := EXISTS (SELECT FROM pg_roles WHERE rolname = writer); has_reader := EXISTS (SELECT FROM pg_roles WHERE rolname = reader); FOR rel IN SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner = (SELECT a.relowner FROM pg_class a WHERE a.relname = 'alembic_version' AND a.relnamespace = current_schema()::regnamespace) LOOP IF rel.relkind = 'S' THEN IF has_writer THEN EXECUTE format('GRANT USAGE ON SEQUENCE %I.%I TO %I', schema, rel.relname, writer); END IF; CONTINUE; END IF; IF has_reader THEN EXECUTE format('GRANT SELECT ON %I.%I TO %I', schema, rel.relname, reader); END IF; IF has_writer THEN EXECUTE format('GRANT SELECT ON %I.%I TO %I', schema, rel.relname, writer); IF rel.relkind IN ('r', 'p') AND rel.relname <> 'alembic_version' THEN EXECUTE format('GRANT INSERT, UPDATE ON %I.%I TO %I', schema, rel.relname, writer); END IF; IF rel.relname = 'sync_job_rejects' THEN -- The crawl ages rejects out (database.rejects_retention_days): its one DELETE. EXECUTE format('GRANT DELETE ON %I.%I TO %I', schema, rel.relname, writer); END IF; END IF; END LOOP; IF has_reader THEN EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO %I', schema, reader); END IF; IF has_writer THEN EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE ON TABLES TO %I', schema, writer); EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE ON SEQUENCES TO %I', schema, writer); END IF; -- PUBLIC has CONNECT and TEMPORARY by default; a hardened database revokes them: grant explicitly. IF NOT pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER') THEN RAISE NOTICE 'database privileges not granted: % does not own database %; its owner grants CONNECT' ' to % and %, and TEMPORARY to %', current_user, current_database(), writer, reader, writer; ELSE IF has_writer THEN EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), writer); END IF; IF has_reader THEN EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), reader); END IF; END IF; IF NOT pg_has_role((SELECT nspowner FROM pg_namespace WHERE nspname = current_schema()), 'MEMBER') THEN RAISE NOTICE 'schema privileges not granted: % does not own schema %; its owner grants USAGE to %' ' and %', current_user, schema, writer, reader; ELSE IF has_writer THEN EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema, writer); END IF; IF has_reader THEN EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema, reader); END IF; END IF; END $function$ 
function CREATE OR REPLACE FUNCTION public.swr_etl_revoke_roles(writer text DEFAULT 'swr_etl_writer'::text, reader text DEFAULT 'swr_etl_reader'::text) RETURNS void LANGUAGE plpgsql AS $function$ DECLARE schema text := current_schema(); name text; rel record; BEGIN FOREACH name IN ARRAY ARRAY[writer, reader] LOOP CONTINUE WHEN NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name); FOR rel IN SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner = (SELECT a.relowner FROM pg_class a WHERE a.relname = 'alembic_version' AND a.relnamespace = current_schema()::regnamespace) LOOP EXECUTE format('REVOKE ALL ON %s %I.%I FROM %I', CASE WHEN rel.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, schema, rel.relname, name); END LOOP; EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM %I', schema, name); EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM %I', schema, name); IF pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER') THEN EXECUTE format('REVOKE ALL ON DATABASE %I FROM %I', current_database(), name); END IF; IF pg_has_role((SELECT nspowner FROM pg_namespace WHERE nspname = current_schema()), 'MEMBER') THEN EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', schema, name); END IF; -- Roles are cluster-wide: other databases (another deployment, every test database) may still -- grant to it, and login roles may be its members; then it stays. IF EXISTS (SELECT FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass AND refobjid = name::regrole) OR EXISTS (SELECT FROM pg_auth_members WHERE roleid = name::regrole AND member <> current_user::regrole) THEN RAISE NOTICE 'role % kept: other databases or login roles still use it', name; CONTINUE; END IF; BEGIN EXECUTE format('DROP ROLE %I', name); EXCEPTION WHEN insufficient_privilege OR dependent_objects_still_exist THEN RAISE NOTICE 'role % kept: %', name, SQLERRM; END; END LOOP; END $function$ 
function CREATE OR REPLACE FUNCTION public.sync_job_daily_deleted() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'public', 'pg_temp' AS $function$ BEGIN INSERT INTO sync_job_daily AS d (day, region, remote_region_id, status, jobs) SELECT day, region, remote_region_id, status, sum(jobs) FROM (SELECT ((old_rows.created_at AT TIME ZONE 'UTC')::date) AS day, region, remote_region_id, status, -count(*) AS jobs FROM old_rows GROUP BY 1, 2, 3, 4) AS delta GROUP BY day, region, remote_region_id, status HAVING sum(jobs) <> 0 ORDER BY day, region, remote_region_id, status ON CONFLICT ON CONSTRAINT sync_job_daily_key DO UPDATE SET jobs = d.jobs + EXCLUDED.jobs ; RETURN NULL; END $function$ 
function CREATE OR REPLACE FUNCTION public.sync_job_daily_inserted() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'public', 'pg_temp' AS $function$ BEGIN INSERT INTO sync_job_daily AS d (day, region, remote_region_id, status, jobs) SELECT day, region, remote_region_id, status, sum(jobs) FROM (SELECT ((new_rows.created_at AT TIME ZONE 'UTC')::date) AS day, region, remote_region_id, status, count(*) AS jobs FROM new_rows GROUP BY 1, 2, 3, 4) AS delta GROUP BY day, region, remote_region_id, status HAVING sum(jobs) <> 0 ORDER BY day, region, remote_region_id, status ON CONFLICT ON CONSTRAINT sync_job_daily_key DO UPDATE SET jobs = d.jobs + EXCLUDED.jobs ; RETURN NULL; END $function$ 
function CREATE OR REPLACE FUNCTION public.sync_job_daily_truncated() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'public', 'pg_temp' AS $function$ BEGIN TRUNCATE sync_job_daily; RETURN NULL; END $function$ 
function CREATE OR REPLACE FUNCTION public.sync_job_daily_updated() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path TO 'public', 'pg_temp' AS $function$ BEGIN INSERT INTO sync_job_daily AS d (day, region, remote_region_id, status, jobs) SELECT day, region, remote_region_id, status, sum(jobs) FROM (SELECT ((new_rows.created_at AT TIME ZONE 'UTC')::date) AS day, region, remote_region_id, status, count(*) AS jobs FROM new_rows GROUP BY 1, 2, 3, 4 UNION ALL SELECT ((old_rows.created_at AT TIME ZONE 'UTC')::date) AS day, region, remote_region_id, status, -count(*) AS jobs FROM old_rows GROUP BY 1, 2, 3, 4) AS delta GROUP BY day, region, remote_region_id, status HAVING sum(jobs) <> 0 ORDER BY day, region, remote_region_id, status ON CONFLICT ON CONSTRAINT sync_job_daily_key DO UPDATE SET jobs = d.jobs + EXCLUDED.jobs ; RETURN NULL; END $function$ 
function CREATE OR REPLACE FUNCTION public.sync_jobs_record_status_change() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN INSERT INTO sync_job_changes (region, job_id, old_status, new_status, job_updated_at, run_id) VALUES (NEW.region, NEW.id, OLD.status, NEW.status, NEW.updated_at, NEW.last_run_id); RETURN NULL; END $function$ 
grant alembic_version to swr_etl_reader: SELECT
grant alembic_version to swr_etl_writer: SELECT
grant crawl_rates to swr_etl_reader: SELECT
grant crawl_rates to swr_etl_writer: INSERT, SELECT, UPDATE
grant crawl_repo_issues to swr_etl_reader: SELECT
grant crawl_repo_issues to swr_etl_writer: INSERT, SELECT, UPDATE
grant crawl_repo_issues_id_seq to swr_etl_writer: USAGE
grant crawl_repositories to swr_etl_reader: SELECT
grant crawl_repositories to swr_etl_writer: INSERT, SELECT, UPDATE
grant crawl_run_health to swr_etl_reader: SELECT
grant crawl_run_health to swr_etl_writer: SELECT
grant crawl_runs to swr_etl_reader: SELECT
grant crawl_runs to swr_etl_writer: INSERT, SELECT, UPDATE
grant crawl_runs_id_seq to swr_etl_writer: USAGE
grant database current to swr_etl_reader: CONNECT
grant database current to swr_etl_writer: CONNECT, TEMPORARY
grant schema public to swr_etl_reader: USAGE
grant schema public to swr_etl_writer: USAGE
grant sync_duration_daily to swr_etl_reader: SELECT
grant sync_duration_daily to swr_etl_writer: SELECT
grant sync_failure_rate_daily to swr_etl_reader: SELECT
grant sync_failure_rate_daily to swr_etl_writer: SELECT
grant sync_job_changes to swr_etl_reader: SELECT
grant sync_job_changes to swr_etl_writer: INSERT, SELECT, UPDATE
grant sync_job_changes_id_seq to swr_etl_writer: USAGE
grant sync_job_conflicts to swr_etl_reader: SELECT
grant sync_job_conflicts to swr_etl_writer: INSERT, SELECT, UPDATE
grant sync_job_daily to swr_etl_reader: SELECT
grant sync_job_daily to swr_etl_writer: INSERT, SELECT, UPDATE
grant sync_job_durations to swr_etl_reader: SELECT
grant sync_job_durations to swr_etl_writer: SELECT
grant sync_job_rejects to swr_etl_reader: SELECT
grant sync_job_rejects to swr_etl_writer: DELETE, INSERT, SELECT, UPDATE
grant sync_job_rejects_id_seq to swr_etl_writer: USAGE
grant sync_job_status_durations to swr_etl_reader: SELECT
grant sync_job_status_durations to swr_etl_writer: SELECT
grant sync_jobs to swr_etl_reader: SELECT
grant sync_jobs to swr_etl_writer: INSERT, SELECT, UPDATE
grant sync_jobs_daily to swr_etl_reader: SELECT
grant sync_jobs_daily to swr_etl_writer: SELECT
grant sync_jobs_stuck to swr_etl_reader: SELECT
grant sync_jobs_stuck to swr_etl_writer: SELECT
index CREATE INDEX crawl_repo_issues_run_idx ON public.crawl_repo_issues USING btree (run_id)
index CREATE INDEX sync_job_changes_day_idx ON public.sync_job_changes USING btree ((((COALESCE(job_updated_at, observed_at) AT TIME ZONE 'UTC'::text))::date))
index CREATE INDEX sync_job_changes_job_idx ON public.sync_job_changes USING btree (region, job_id, observed_at)
index CREATE INDEX sync_job_rejects_run_idx ON public.sync_job_rejects USING btree (run_id)
index CREATE INDEX sync_jobs_active_moved_idx ON public.sync_jobs USING btree (COALESCE(updated_at, created_at)) WHERE (status = ANY (ARRAY['waiting'::text, 'running'::text]))
index CREATE INDEX sync_jobs_created_at_idx ON public.sync_jobs USING btree (created_at)
index CREATE INDEX sync_jobs_failed_region_created_idx ON public.sync_jobs USING btree (remote_region_id, created_at) WHERE (status = ANY (ARRAY['failed'::text, 'timeout'::text]))
index CREATE INDEX sync_jobs_gone_idx ON public.sync_jobs USING btree (region, id) WHERE (gone_upstream_at IS NOT NULL)
index CREATE INDEX sync_jobs_repo_created_idx ON public.sync_jobs USING btree (namespace, repo_name, created_at)
index CREATE UNIQUE INDEX alembic_version_pkc ON public.alembic_version USING btree (version_num)
index CREATE UNIQUE INDEX crawl_rates_pkey ON public.crawl_rates USING btree (source, api)
index CREATE UNIQUE INDEX crawl_repo_issues_pkey ON public.crawl_repo_issues USING btree (id)
index CREATE UNIQUE INDEX crawl_repositories_pkey ON public.crawl_repositories USING btree (region, namespace, repo_name)
index CREATE UNIQUE INDEX crawl_runs_pkey ON public.crawl_runs USING btree (id)
index CREATE UNIQUE INDEX sync_job_changes_pkey ON public.sync_job_changes USING btree (id)
index CREATE UNIQUE INDEX sync_job_conflicts_pkey ON public.sync_job_conflicts USING btree (region, id, namespace, repo_name)
index CREATE UNIQUE INDEX sync_job_daily_key ON public.sync_job_daily USING btree (day, region, remote_region_id, status) NULLS NOT DISTINCT
index CREATE UNIQUE INDEX sync_job_rejects_pkey ON public.sync_job_rejects USING btree (id)
index CREATE UNIQUE INDEX sync_job_rejects_record_idx ON public.sync_job_rejects USING btree (region, namespace, repo_name, md5(raw))
index CREATE UNIQUE INDEX sync_jobs_pkey ON public.sync_jobs USING btree (region, id)
trigger CREATE TRIGGER sync_job_daily_delete AFTER DELETE ON public.sync_jobs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_deleted()
trigger CREATE TRIGGER sync_job_daily_insert AFTER INSERT ON public.sync_jobs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_inserted()
trigger CREATE TRIGGER sync_job_daily_truncate AFTER TRUNCATE ON public.sync_jobs FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_truncated()
trigger CREATE TRIGGER sync_job_daily_update AFTER UPDATE ON public.sync_jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_job_daily_updated()
trigger CREATE TRIGGER sync_jobs_status_change AFTER UPDATE OF status ON public.sync_jobs FOR EACH ROW WHEN ((old.status IS DISTINCT FROM new.status)) EXECUTE FUNCTION sync_jobs_record_status_change()
view crawl_run_health SELECT id AS run_id, status, started_at, finished_at, (finished_at - started_at) AS duration, repos_ok, repos_failed, repos_gone, repos_flagged, requests, jobs_seen, inserted, updated, rejected, error, id AS last_ok_run_id, finished_at AS last_ok_at, (now() - finished_at) AS since_last_ok, throttled, rate_reached, rate_learned, repos_full, repos_incremental, repos_reread, repos_left, requests_saved, jobs_gone, id_conflicts, heartbeat_at FROM (( SELECT id, started_at, finished_at, status, repos_ok, repos_failed, repos_gone, repos_flagged, requests, jobs_seen, inserted, updated, rejected, error, throttled, rate_reached, rate_learned, repos_full, repos_incremental, repos_reread, repos_left, requests_saved, jobs_gone, id_conflicts, heartbeat_at FROM crawl_runs ORDER BY id DESC LIMIT 1) r LEFT JOIN LATERAL ( SELECT id, finished_at FROM crawl_runs WHERE (status = 'ok'::text) ORDER BY id DESC LIMIT 1) ok ON (true));
view sync_duration_daily SELECT day, remote_region_id, jobs, p50_seconds, p95_seconds, max_seconds FROM (( SELECT DISTINCT day FROM sync_job_daily WHERE ((status = 'success'::text) AND (jobs > 0))) d CROSS JOIN LATERAL ( SELECT remote_region_id, count(*) AS jobs, percentile_cont((5)::double precision) WITHIN GROUP (ORDER BY ((EXTRACT(epoch FROM (updated_at - created_at)))::double precision)) AS p50_seconds, percentile_cont((95)::double precision) WITHIN GROUP (ORDER BY ((EXTRACT(epoch FROM (updated_at - created_at)))::double precision)) AS p95_seconds, max(EXTRACT(epoch FROM (updated_at - created_at))) AS max_seconds FROM sync_jobs j WHERE ((status = 'success'::text) AND (created_at >= ((day)::timestamp without time zone AT TIME ZONE 'UTC'::text)) AND (created_at < (((day + 1))::timestamp without time zone AT TIME ZONE 'UTC'::text))) GROUP BY remote_region_id) p);
view sync_failure_rate_daily SELECT day, remote_region_id, sum(jobs) AS jobs, COALESCE(sum(jobs) FILTER (WHERE (status = ANY (ARRAY['failed'::text, 'timeout'::text]))), (0)::numeric) AS failed, round((COALESCE(sum(jobs) FILTER (WHERE (status = ANY (ARRAY['failed'::text, 'timeout'::text]))), (0)::numeric) / NULLIF(sum(jobs), (0)::numeric)), 4) AS failure_rate FROM sync_job_daily WHERE (jobs > 0) GROUP BY day, remote_region_id;
view sync_job_durations SELECT region, id, namespace, repo_name, tag, status, remote_region_id, created_at, updated_at, (updated_at - created_at) AS duration FROM sync_jobs WHERE (status = ANY (ARRAY['success'::text, 'failed'::text, 'timeout'::text, 'cancel'::text, 'existed'::text]));
view sync_job_status_durations SELECT ((COALESCE(job_updated_at, observed_at) AT TIME ZONE 'UTC'::text))::date AS day, remote_region_id, old_status, new_status, count(*) AS changes, percentile_cont((5)::double precision) WITHIN GROUP (ORDER BY ((EXTRACT(epoch FROM (COALESCE(job_updated_at, observed_at) - created_at)))::double precision)) AS p50_seconds, percentile_cont((95)::double precision) WITHIN GROUP (ORDER BY ((EXTRACT(epoch FROM (COALESCE(job_updated_at, observed_at) - created_at)))::double precision)) AS p95_seconds, max(EXTRACT(epoch FROM (COALESCE(job_updated_at, observed_at) - created_at))) AS max_seconds FROM (sync_job_changes c JOIN sync_jobs j ON (((region = region) AND (id = job_id)))) GROUP BY (((COALESCE(job_updated_at, observed_at) AT TIME ZONE 'UTC'::text))::date), remote_region_id, old_status, new_status;
view sync_jobs_daily SELECT day, region, remote_region_id, status, jobs FROM sync_job_daily WHERE (jobs > 0);
view sync_jobs_stuck SELECT region, id, namespace, repo_name, tag, status, remote_region_id, created_at, updated_at, (now() - COALESCE(updated_at, created_at)) AS stuck_for FROM sync_jobs WHERE ((status = ANY (ARRAY['waiting'::text, 'running'::text])) AND (gone_upstream_at IS NULL));
