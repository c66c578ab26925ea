-- Analytics: the DuckDB replica the analytics job keeps of the fact columns its models read (a
-- DuckDB file in LAKE_DIR/_analytics). A run copies there only the days the facts runs loaded
-- since (fact_load_dates) and the sales of re-pointed products, instead of copying every fact
-- out of the warehouse again.
--
-- This row says which replica file matches the warehouse: the job writes it in its own
-- transaction, after the file. A run that dies in between leaves the two different, and the
-- next run, not trusting the file, rebuilds it from the facts. No row: no replica to trust.
create table analytics_replica (
    id                  boolean primary key default true check (id),  -- one row at most
    replica_id          uuid not null,                                  -- also stored in the file
    -- The file holds every load of the facts runs up to these: its sales (and product versions)
    -- are refreshed by every run, its views and cart events only by the runs that read them all.
    sales_run_id        bigint not null,
    events_run_id       bigint not null,
    -- product_performance was last written from this replica, so a run may recompute only the
    -- days and products changed since; false once the PostgreSQL engine has rewritten it.
    performance_current boolean not null,
    updated_at          timestamptz not null default now()
);
