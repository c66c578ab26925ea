-- Indexes the Grafana dashboards need (grafana/src/dashboards). The fact panels read whole days
-- of a month's partition (pruned on event_date), which a sequential scan does best; what grows
-- without bound is the batch bookkeeping the pipeline-health dashboard reads by time.
--
-- job_runs gains five rows per scheduler tick (every 5 minutes: ~525,000 a year). The panels
-- "Job runs" and "Job durations" filter on started_at (the time picker): on a year of runs they
-- took 63 and 67 ms as a sequential scan, 0.15 and 1.1 ms with this index.
create index job_runs_started_idx on job_runs (started_at);
