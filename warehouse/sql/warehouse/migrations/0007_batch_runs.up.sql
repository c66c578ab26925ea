-- Batch runs that survive ranged runs and failures of unrelated jobs.

-- 1. A job skipped because a job it depends on failed is recorded as 'skipped' (its error names
--    the failed dependency), so `batch list` and job_runs say why it did not run.
alter table job_runs drop constraint job_runs_status_check;
alter table job_runs
    add constraint job_runs_status_check check (status in ('running', 'succeeded', 'failed', 'skipped'));

-- 2. A ranged run (--from/--to) loads rows without moving its job's watermark, so rows ingested
--    after the watermark may already be loaded: loaded_ahead_until is the newest ingestion time
--    such a run loaded (null: none beyond the watermark). The dimensions job takes an order
--    ingested after both as new without looking it up in customer_orders.
alter table etl_watermarks add column loaded_ahead_until timestamptz;
