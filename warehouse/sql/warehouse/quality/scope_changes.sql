-- The scope of a scoped quality check: what can have broken since the last run whose guards all
-- passed (quality.coverage). Runs in the quality job's transaction, after it emptied the
-- quality.checked_* tables and added the dates of the fact partitions created since (every row
-- of theirs is new).
--
--   psql "$WAREHOUSE_DATABASE_URL" -v facts_run_id=41 -v covered_snapshot='812:815:' \
--        -v first_new_xid=815 -v running_xids='{}' -v new_partitions='{}' -f scope_changes.sql
--
-- facts_run_id:     the newest facts run the last passing check saw
-- covered_snapshot: that check's snapshot (pg_current_snapshot() then)
-- first_new_xid, running_xids: the snapshot's xmax and running xids as 32-bit xids ('{1,2}'):
--                   a row version is newer than the snapshot when its xmin is at or past the
--                   xmax, or was running then; xmin is a 32-bit xid, so age() compares them
-- new_partitions:   the oids of the fact partitions created since, as an array ('{16500}')

-- ids: the fact dates loaded (fact_load_dates) or updated (trigger log) since
insert into quality.checked_dates (fact, event_date)
select fact, event_date from fact_load_dates where run_id > :'facts_run_id'
union
select fact, event_date from quality.fact_updates where not pg_visible_in_snapshot(written_by, :'covered_snapshot'::pg_snapshot)
except
select fact, event_date from quality.checked_dates;

insert into quality.checked_since (everything, first_new_xid, running_xids, new_partitions)
values (false, :'first_new_xid'::xid, :'running_xids'::xid[], :'new_partitions'::oid[]);

-- the natural keys with a version written (xmin), deleted or moved (trigger log) since
insert into quality.checked_keys (dimension, natural_key)
select 'dim_products', product_id from dim_products
where age(xmin) <= age(:'first_new_xid'::xid) or xmin = any(:'running_xids'::xid[])
union
select 'dim_customers', user_id from dim_customers
where age(xmin) <= age(:'first_new_xid'::xid) or xmin = any(:'running_xids'::xid[])
union
select dimension, natural_key from quality.dimension_changes
where dimension in ('dim_products', 'dim_customers') and not pg_visible_in_snapshot(written_by, :'covered_snapshot'::pg_snapshot);

-- the dimension rows deleted or moved since, with the event times they left
insert into quality.moved_versions (dimension, key, moved_from, moved_to)
with changed as (
    select distinct dimension, key, natural_key, effective_from, coalesce(effective_to, 'infinity') as effective_to
    from quality.dimension_changes
    where key is not null and not pg_visible_in_snapshot(written_by, :'covered_snapshot'::pg_snapshot)
),

now_valid as (
    select 'dim_products' as dimension, product_id_pk as key, product_id as natural_key,
           effective_from, coalesce(effective_to, 'infinity') as effective_to
    from dim_products where product_id_pk in (select key from changed where dimension = 'dim_products')
    union all
    select 'dim_customers', customer_id, user_id, effective_from, coalesce(effective_to, 'infinity')
    from dim_customers where customer_id in (select key from changed where dimension = 'dim_customers')
    union all
    select 'dim_date', date_id, full_date::text, full_date::timestamptz, (full_date + 1)::timestamptz
    from dim_date where date_id in (select key from changed where dimension = 'dim_date')
    union all
    select 'dim_geography', geography_id, country, '-infinity', 'infinity'
    from dim_geography where geography_id in (select key from changed where dimension = 'dim_geography')
),

-- All of the old validity when the row is gone or stands for another natural key; else what it
-- no longer covers: before its new start and after its new end.
moved as (
    select c.dimension, c.key, c.effective_from as moved_from, c.effective_to as moved_to
    from changed c left join now_valid n on n.dimension = c.dimension and n.key = c.key
    where n.key is null or n.natural_key <> c.natural_key
    union all
    select c.dimension, c.key, c.effective_from, least(c.effective_to, n.effective_from)
    from changed c join now_valid n on n.dimension = c.dimension and n.key = c.key and n.natural_key = c.natural_key
    union all
    select c.dimension, c.key, greatest(c.effective_from, n.effective_to), c.effective_to
    from changed c join now_valid n on n.dimension = c.dimension and n.key = c.key and n.natural_key = c.natural_key
)

select distinct dimension, key, moved_from, moved_to from moved where moved_from < moved_to;
