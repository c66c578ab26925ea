alter table etl_watermarks drop column loaded_ahead_until;

delete from job_runs where status = 'skipped';
alter table job_runs drop constraint job_runs_status_check;
alter table job_runs
    add constraint job_runs_status_check check (status in ('running', 'succeeded', 'failed'));
