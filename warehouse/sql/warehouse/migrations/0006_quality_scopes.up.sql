-- Data quality: what a quality run needs to check only what changed since the last run that
-- passed, without missing anything a full check would find. See batch-layer/src/jobs/quality.ts.
--
-- The facts change in two ways: a facts run inserts rows (it records the dates it loaded in
-- fact_load_dates) and the dimensions job re-points rows at other versions (an UPDATE, logged
-- here by trigger). The dimensions change in place: their rows' xmin says which were written
-- since, and the versions deleted or moved (their old validity) are logged here by trigger.

create schema quality;

-- The last run whose checks all passed: the snapshot it started from (every change visible in
-- it has been checked), the newest facts run it saw (fact_load_dates.run_id; facts runs commit
-- one at a time, in run_id order) and the fact partitions there were (a partition swapped in
-- since holds rows written before that snapshot). One row.
create table quality.coverage (
    only_row        boolean primary key default true check (only_row),
    covered         pg_snapshot not null,
    facts_run_id    bigint not null,
    fact_partitions oid[] not null,
    checked_at      timestamptz not null default now()
);

-- Fact dates whose rows an UPDATE changed (the dimensions job re-pointing facts).
create table quality.fact_updates (
    fact       text not null,
    event_date date not null,
    written_by xid8 not null default pg_current_xact_id()
);

-- Dimension rows deleted or whose key, natural key or validity changed, as they were: the
-- facts pointing at them must be checked again. key is null after a TRUNCATE: all of them.
create table quality.dimension_changes (
    dimension      text not null,
    key            integer,
    natural_key    text,
    effective_from timestamptz,
    effective_to   timestamptz,
    written_by     xid8 not null default pg_current_xact_id()
);

create function quality.log_fact_update() returns trigger
language plpgsql
as $$
begin
    insert into quality.fact_updates (fact, event_date)
    select tg_table_name, event_date from old_rows
    union
    select tg_table_name, event_date from new_rows;
    return null;
end;
$$;

create trigger fact_sales_quality after update on fact_sales
    referencing old table as old_rows new table as new_rows
    for each statement execute function quality.log_fact_update();
create trigger fact_product_views_quality after update on fact_product_views
    referencing old table as old_rows new table as new_rows
    for each statement execute function quality.log_fact_update();
create trigger fact_cart_events_quality after update on fact_cart_events
    referencing old table as old_rows new table as new_rows
    for each statement execute function quality.log_fact_update();

-- The trigger arguments are SQL expressions over a dimension row: its key, its natural key and
-- the event times it stands for (a day for dim_date, all time for dim_geography).
create function quality.log_dimension_delete() returns trigger
language plpgsql
as $$
begin
    execute format(
        'insert into quality.dimension_changes (dimension, key, natural_key, effective_from, effective_to)
         select %L, %s, %s, %s, %s from old_rows',
        tg_table_name, tg_argv[0], tg_argv[1], tg_argv[2], tg_argv[3]);
    return null;
end;
$$;

create function quality.log_dimension_update() returns trigger
language plpgsql
as $$
begin
    execute format(
        'insert into quality.dimension_changes (dimension, key, natural_key, effective_from, effective_to)
         select %L, %s, %s, %s, %s from (select ($1).*) old_row',
        tg_table_name, tg_argv[0], tg_argv[1], tg_argv[2], tg_argv[3])
    using old;
    return null;
end;
$$;

create function quality.log_dimension_truncate() returns trigger
language plpgsql
as $$
begin
    insert into quality.dimension_changes (dimension) values (tg_table_name);
    return null;
end;
$$;

create trigger dim_products_quality_delete after delete on dim_products
    referencing old table as old_rows for each statement
    execute function quality.log_dimension_delete('product_id_pk', 'product_id', 'effective_from', 'effective_to');
create trigger dim_products_quality_update after update of product_id_pk, product_id, effective_from, effective_to on dim_products
    for each row when ((old.product_id_pk, old.product_id, old.effective_from, old.effective_to)
                       is distinct from (new.product_id_pk, new.product_id, new.effective_from, new.effective_to))
    execute function quality.log_dimension_update('product_id_pk', 'product_id', 'effective_from', 'effective_to');
create trigger dim_products_quality_truncate after truncate on dim_products
    for each statement execute function quality.log_dimension_truncate();

create trigger dim_customers_quality_delete after delete on dim_customers
    referencing old table as old_rows for each statement
    execute function quality.log_dimension_delete('customer_id', 'user_id', 'effective_from', 'effective_to');
create trigger dim_customers_quality_update after update of customer_id, user_id, effective_from, effective_to on dim_customers
    for each row when ((old.customer_id, old.user_id, old.effective_from, old.effective_to)
                       is distinct from (new.customer_id, new.user_id, new.effective_from, new.effective_to))
    execute function quality.log_dimension_update('customer_id', 'user_id', 'effective_from', 'effective_to');
create trigger dim_customers_quality_truncate after truncate on dim_customers
    for each statement execute function quality.log_dimension_truncate();

create trigger dim_date_quality_delete after delete on dim_date
    referencing old table as old_rows for each statement
    execute function quality.log_dimension_delete('date_id', 'full_date::text', 'full_date::timestamptz', '(full_date + 1)::timestamptz');
create trigger dim_date_quality_update after update of date_id, full_date on dim_date
    for each row when ((old.date_id, old.full_date) is distinct from (new.date_id, new.full_date))
    execute function quality.log_dimension_update('date_id', 'full_date::text', 'full_date::timestamptz', '(full_date + 1)::timestamptz');
create trigger dim_date_quality_truncate after truncate on dim_date
    for each statement execute function quality.log_dimension_truncate();

create trigger dim_geography_quality_delete after delete on dim_geography
    referencing old table as old_rows for each statement
    execute function quality.log_dimension_delete('geography_id', 'country', '''-infinity''::timestamptz', 'null::timestamptz');
create trigger dim_geography_quality_update after update of geography_id, country on dim_geography
    for each row when ((old.geography_id, old.country) is distinct from (new.geography_id, new.country))
    execute function quality.log_dimension_update('geography_id', 'country', '''-infinity''::timestamptz', 'null::timestamptz');
create trigger dim_geography_quality_truncate after truncate on dim_geography
    for each statement execute function quality.log_dimension_truncate();

-- A run's scope, written by the quality job in its transaction and read by the checks
-- (warehouse/sql/models/checks). Plain tables rather than temporary ones, so that the checks
-- may use parallel workers.

-- Per fact, the event dates with rows written since the last passing run: loaded, updated, or
-- in a partition new since (every date its partitions can hold on a full check).
create unlogged table quality.checked_dates (
    fact       text not null,
    event_date date not null
);

-- Which rows of those dates were written since, in one row: every row on a full check, else
-- those whose xmin (a 32-bit xid) is at or past the covered snapshot's xmax or was running
-- then, and those of partitions new since.
create unlogged table quality.checked_since (
    everything     boolean not null,
    first_new_xid  xid not null,
    running_xids   xid[] not null,
    new_partitions oid[] not null
);

-- Per SCD2 dimension, the natural keys to check: those with a version written, deleted or
-- moved since the last passing run (every one on a full check).
create unlogged table quality.checked_keys (
    dimension   text not null,
    natural_key text not null
);

-- Dimension rows deleted or changed since the last passing run: the event times they covered
-- and no longer do. The facts of those times pointing at them are checked.
create unlogged table quality.moved_versions (
    dimension text not null,
    key       integer not null,
    moved_from timestamptz not null,
    moved_to   timestamptz not null
);

-- Event ids that may be loaded twice, and the month each may sit in (see the uniqueness checks).
create unlogged table quality.event_id_candidates (
    fact     text not null,
    event_id text not null,
    month    date not null
);

-- Per fact and month, a Bloom filter of the event ids loaded in that month: `hashes` bit
-- positions per id in a bit array of 8 * length(bits) bits (a power of two). It never misses
-- an id it holds. Written with the coverage.
create table quality.event_id_filters (
    fact   text not null,
    month  date not null,
    ids    bigint not null,
    hashes smallint not null,
    bits   bytea not null,
    primary key (fact, month)
);
-- Random bits do not compress: store them as they are.
alter table quality.event_id_filters alter column bits set storage external;
