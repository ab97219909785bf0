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
column crawl_repositories.high_water_created_at timestamp with time zone
column crawl_repositories.high_water_id bigint
column crawl_repositories.jobs_seen integer not null default 0
column crawl_repositories.last_crawled_at timestamp with time zone not null default now()
column crawl_repositories.last_full_at timestamp with time zone
column crawl_repositories.last_run_id bigint not null
column crawl_repositories.last_status text not null
column crawl_repositories.last_success_at timestamp with time zone
column crawl_repositories.last_total integer
column crawl_repositories.max_job_id bigint
column crawl_repositories.namespace text not null
column crawl_repositories.oldest_open_created_at timestamp with time zone
column crawl_repositories.open_jobs integer not null default 0
column crawl_repositories.region text not null
column crawl_repositories.repo_name text not null
column crawl_runs.error text
column crawl_runs.finished_at timestamp with time zone
column crawl_runs.id bigint not null default nextval('crawl_runs_id_seq'::regclass)
column crawl_runs.inserted bigint not null default 0
column crawl_runs.jobs_gone bigint not null default 0
column crawl_runs.jobs_seen bigint not null default 0
column crawl_runs.pages bigint not null default 0
column crawl_runs.rejected bigint not null default 0
column crawl_runs.repos_failed integer not null default 0
column crawl_runs.repos_flagged integer not null default 0
column crawl_runs.repos_full bigint not null default 0
column crawl_runs.repos_gone integer not null default 0
column crawl_runs.repos_incremental bigint not null default 0
column crawl_runs.repos_left bigint not null default 0
column crawl_runs.repos_ok integer not null default 0
column crawl_runs.repos_reread bigint not null default 0
column crawl_runs.requests bigint not null default 0
column crawl_runs.requests_saved bigint not null default 0
column crawl_runs.settings jsonb
column crawl_runs.sources _text not null default '{}'::text[]
column crawl_runs.started_at timestamp with time zone not null default now()
column crawl_runs.status text not null default 'running'::text
column crawl_runs.unchanged bigint not null default 0
column crawl_runs.unknown_status bigint not null default 0
column crawl_runs.updated bigint not null default 0
column sync_job_changes.id bigint not null default nextval('sync_job_changes_id_seq'::regclass)
column sync_job_changes.job_id bigint not null
column sync_job_changes.job_updated_at timestamp with time zone
column sync_job_changes.new_status text
column sync_job_changes.observed_at timestamp with time zone not null default now()
column sync_job_changes.old_status text
column sync_job_changes.region text not null
column sync_job_changes.run_id bigint not null
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
column sync_jobs.gone_upstream_at timestamp with time zone
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
comment crawl_repositories Per-repository crawl state, rewritten once per run
comment crawl_runs One row per crawl run with its counters (settings: non-secret summary)
comment sync_job_changes One row per observed change of a job's status (a job first seen is not a change)
comment sync_job_durations Jobs in a final status with duration = updated_at - created_at
comment sync_job_rejects.raw Raw JSON text of the bad record (text, so any garbage fits)
comment sync_jobs SWR image-sync jobs as last observed; ids are unique per region only
comment sync_jobs.first_seen_at When the row was first inserted
comment sync_jobs.gone_upstream_at When a full crawl of its repository no longer listed the job (NULL: still listed)
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
constraint sync_job_changes sync_job_changes_pkey PRIMARY KEY (id)
constraint sync_job_changes sync_job_changes_run_id_fkey FOREIGN KEY (run_id) REFERENCES crawl_runs(id) ON DELETE CASCADE
constraint sync_job_rejects sync_job_rejects_pkey PRIMARY KEY (id)
constraint sync_job_rejects sync_job_rejects_run_id_fkey FOREIGN KEY (run_id) REFERENCES crawl_runs(id) ON DELETE CASCADE
constraint sync_jobs sync_jobs_pkey PRIMARY KEY (region, id)
function sync_jobs_record_status_change BEGIN INSERT INTO sync_job_changes (region, job_id, old_status, new_status, job_updated_at, run_id) VALUES (NEW.region, NEW.id, OLD.status, NEW.status, NEW.updated_at, NEW.last_run_id); RETURN NULL; END
index CREATE INDEX crawl_repo_issues_run_idx ON public.crawl_repo_issues USING btree (run_id)
index CREATE INDEX sync_job_changes_job_idx ON public.sync_job_changes USING btree (region, job_id, observed_at)
index CREATE INDEX sync_job_rejects_run_idx ON public.sync_job_rejects USING btree (run_id)
index CREATE INDEX sync_jobs_active_updated_idx ON public.sync_jobs USING btree (updated_at) WHERE (status = ANY (ARRAY['waiting'::text, 'running'::text]))
index CREATE INDEX sync_jobs_created_at_idx ON public.sync_jobs USING btree (created_at)
index CREATE INDEX sync_jobs_failed_region_created_idx ON public.sync_jobs USING btree (remote_region_id, created_at) WHERE (status = ANY (ARRAY['failed'::text, 'timeout'::text]))
index CREATE INDEX sync_jobs_gone_idx ON public.sync_jobs USING btree (region, id) WHERE (gone_upstream_at IS NOT NULL)
index CREATE INDEX sync_jobs_repo_created_idx ON public.sync_jobs USING btree (namespace, repo_name, created_at)
index CREATE UNIQUE INDEX alembic_version_pkc ON public.alembic_version USING btree (version_num)
index CREATE UNIQUE INDEX crawl_repo_issues_pkey ON public.crawl_repo_issues USING btree (id)
index CREATE UNIQUE INDEX crawl_repositories_pkey ON public.crawl_repositories USING btree (region, namespace, repo_name)
index CREATE UNIQUE INDEX crawl_runs_pkey ON public.crawl_runs USING btree (id)
index CREATE UNIQUE INDEX sync_job_changes_pkey ON public.sync_job_changes USING btree (id)
index CREATE UNIQUE INDEX sync_job_rejects_pkey ON public.sync_job_rejects USING btree (id)
index CREATE UNIQUE INDEX sync_jobs_pkey ON public.sync_jobs USING btree (region, id)
trigger CREATE TRIGGER sync_jobs_status_change AFTER UPDATE OF status ON public.sync_jobs FOR EACH ROW WHEN ((old.status IS DISTINCT FROM new.status)) EXECUTE FUNCTION sync_jobs_record_status_change()
view sync_job_durations SELECT region, id, namespace, repo_name, tag, status, remote_region_id, created_at, updated_at, (updated_at - created_at) AS duration FROM sync_jobs WHERE (status = ANY (ARRAY['success'::text, 'failed'::text, 'timeout'::text, 'cancel'::text, 'existed'::text]));
