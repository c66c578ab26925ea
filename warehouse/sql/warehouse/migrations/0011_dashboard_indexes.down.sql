drop index if exists job_runs_started_idx;
