-- Data-quality checks that guard publication, and the realtime snapshot of the last facts run.

-- 1. Severity. The checks that guard publication run inside the facts job's transaction, before
--    it commits: a failure rolls the run back (the last good warehouse stays) and is recorded
--    here as an 'error'. The other checks run in the quality job, after the warehouse is
--    published, and only warn. Rows recorded before this migration failed their run: errors.
alter table data_quality_results
    add column severity text not null default 'error'
        constraint data_quality_results_severity_check check (severity in ('error', 'warning'));

-- 2. What the last facts run could see. Savers commit out of ingested_at order, so an order
--    ingested before the facts watermark may have been committed after the run that set it (the
--    next run's lookback loads it). The quality job compares fact revenue with the raw orders
--    this snapshot shows, not with those its own later snapshot shows. One row: the facts runs
--    hold their job's lock, and only the newest run's snapshot matters.
create table fact_source_snapshot (
    only_row           boolean primary key default true check (only_row),
    run_id             bigint not null,
    realtime_snapshot  pg_snapshot not null,
    recorded_at        timestamptz not null default now()
);
