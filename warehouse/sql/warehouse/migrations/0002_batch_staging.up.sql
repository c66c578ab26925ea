-- Batch layer: staging tables, data-quality results and the rounding helper the analytics share
-- with DuckDB.
--
-- staging.stg_* hold the raw rows a batch job copies from the realtime database (COPY, never a
-- cross-database query). A job works on session-local copies (`create temp table stg_x (like
-- staging.stg_x)`), so two jobs never see each other's rows; these permanent, empty definitions
-- let a reader run a model with psql after `set search_path = staging, public` and loading them.
-- Their own schema keeps them out of the star schema's table list.

create schema staging;

create unlogged table staging.stg_transactions (
    transaction_id        uuid not null,
    user_id               text not null,
    session_id            text not null,
    total_amount          numeric(12, 2) not null,
    currency              char(3) not null,
    payment_method        text not null,
    country               text not null,
    transaction_timestamp timestamptz not null,
    ingested_at           timestamptz not null
);

create unlogged table staging.stg_transaction_items (
    transaction_id uuid not null,
    line_number    smallint not null,
    product_id     text not null,
    quantity       integer not null,
    price          numeric(12, 2) not null
);

create unlogged table staging.stg_product_views (
    event_id        uuid not null,
    user_id         text not null,
    product_id      text not null,
    session_id      text not null,
    view_duration   integer not null,
    country         text not null,
    event_timestamp timestamptz not null,
    ingested_at     timestamptz not null
);

create unlogged table staging.stg_cart_events (
    event_id        uuid not null,
    event_type      text not null,
    user_id         text not null,
    product_id      text not null,
    session_id      text not null,
    quantity        integer not null,
    price           numeric(12, 2) not null,
    country         text not null,
    event_timestamp timestamptz not null,
    ingested_at     timestamptz not null
);

create unlogged table staging.stg_catalog_events (
    product_id  text not null,
    updated_at  timestamptz not null,
    name        text not null,
    category    text not null,
    price       numeric(12, 2) not null,
    ingested_at timestamptz not null
);

-- Point-in-time lookups by natural key. The gist indexes behind the SCD2 exclusion constraints
-- can answer them too, but a btree_gist probe on text costs ~0.2 ms: a million fact rows would
-- spend minutes there.
create index dim_products_natural_key_idx on dim_products (product_id, effective_from);
create index dim_customers_natural_key_idx on dim_customers (user_id, effective_from);

-- Removing a customer version that a late order made obsolete checks every fact for rows still
-- pointing at it; without these, each check scans the whole table (fact_sales has its index).
create index fact_product_views_customer_idx on fact_product_views (customer_id);
create index fact_cart_events_customer_idx on fact_cart_events (customer_id);

-- One row per check per quality run; a failing check keeps a sample of the offending rows.
create table data_quality_results (
    run_id         bigint not null references job_runs (run_id) on delete cascade,
    check_name     text not null,
    passed         boolean not null,
    failing_rows   bigint not null,
    sample         jsonb not null default '[]',
    checked_at     timestamptz not null default now(),
    primary key (run_id, check_name)
);

-- n / d rounded half away from zero to `scale` digits; NULL when d is 0 or NULL. DuckDB gets a
-- macro of the same name, so one analytics SQL file runs in both engines with equal results.
create function round_ratio(n numeric, d numeric, scale integer)
returns numeric
language sql
immutable
as $$ select case when d is null or d = 0 then null else round(n / d, scale) end $$;
