-- An incremental facts run inserts the model's rows that are not loaded yet (facts are
-- append-only, keyed by event id), records them per event date (fact_load_dates, read by the
-- analytics and quality jobs), keeps them for the publication guards (loaded_fact_rows), and
-- lists the keys of those the next run stages again (the lookback) in fact_lookback_keys.
--
-- The rows staged again that fact_lookback_keys lists are skipped without a probe of the fact
-- partitions; the rest are inserted as they are. Only a row loaded by a ranged run (which leaves
-- the watermark alone), or whose key a crash dropped from the unlogged list, can still be there:
-- then its unique violation makes the job run this again with
-- on_conflict = 'on conflict (event_id, event_date) do nothing' (the slow path).
--
-- Reads the temp view fact_rows: the rows of the fact's model (warehouse/sql/models/<fact>.sql)
-- over the staged stg_* tables. By hand, in one session:
--
--   create temp view fact_rows as <the model's text>;
--   \set fact fact_sales
--   \set event_time transaction_timestamp
--   \set columns 'event_id, transaction_id, ...'   -- the model's columns
--   \set on_conflict ''
--   \set run_id 0
--   \set relisted_from infinity
--   \i insert_new_rows.sql
--
-- Returns the number of rows inserted.
with loaded as (
    insert into :"fact" (:columns)
    select * from fact_rows
    where not exists (select from fact_lookback_keys k where k.fact = :'fact' and k.event_id = fact_rows.event_id::text)
    :on_conflict
    returning event_id, event_date, ingested_at, :"event_time" as event_time,
              date_id, customer_id, product_id_pk, geography_id, user_id, product_id
),

kept as (
    insert into loaded_fact_rows
    select :'fact', event_id::text, event_date, event_time, date_id, customer_id, product_id_pk, geography_id, user_id, product_id
    from loaded
),

recorded as (
    insert into fact_load_dates (run_id, fact, event_date, rows)
    select :'run_id'::bigint, :'fact', event_date, count(*) from loaded group by event_date
    returning rows
),

-- A run without a watermark lists none (relisted_from = 'infinity').
listed as (
    insert into fact_lookback_keys (fact, event_id, ingested_at)
    select :'fact', event_id::text, ingested_at from loaded where ingested_at > :'relisted_from'
)

select coalesce(sum(rows), 0)::bigint as n from recorded
