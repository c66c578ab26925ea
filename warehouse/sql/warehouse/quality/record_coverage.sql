-- A quality run whose guards all passed records what it covered: its snapshot, the newest facts
-- run and the fact partitions it saw. The next run checks only what changed since (see
-- scope_changes.sql). Runs in the quality job's transaction, after the month filters are saved.
--
--   psql "$WAREHOUSE_DATABASE_URL" -v snapshot='812:815:' -v facts_run_id=41 -v fact_partitions='{}' -f record_coverage.sql

insert into quality.coverage (covered, facts_run_id, fact_partitions)
values (:'snapshot'::pg_snapshot, :'facts_run_id', :'fact_partitions'::oid[])
on conflict (only_row) do update
set covered = excluded.covered, facts_run_id = excluded.facts_run_id, fact_partitions = excluded.fact_partitions, checked_at = now();

-- What this snapshot shows has been checked now (by this run or an earlier one).
delete from quality.fact_updates where pg_visible_in_snapshot(written_by, :'snapshot'::pg_snapshot);

delete from quality.dimension_changes where pg_visible_in_snapshot(written_by, :'snapshot'::pg_snapshot);
