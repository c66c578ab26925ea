-- Every key of a fact row is a row of its dimension, and the row its event needs: the date of
-- its event date; for customers and products a version of the fact's own natural key that is
-- valid at the event's time (-1, the unknown member, stands for "no version"). The facts have
-- no foreign keys: this check is what guards them.
--
-- Covers two sets of rows, which together hold every row that can have broken since the last
-- passing run (on a full check, every row):
--   1. the rows written since: inserted by a facts run (fact_load_dates has their dates),
--      updated (the dimensions job re-pointing facts; a trigger logs the dates) or in a
--      partition swapped in since. quality.checked_dates holds their dates and
--      quality.checked_since tells them from the older rows of those dates (xmin, partition);
--   2. the rows pointing at a dimension row deleted or changed since (a trigger logs it as it
--      was): quality.moved_versions, with the event times it no longer covers. A row not
--      written since pointed, when the last run passed, at a row valid for its event; it breaks
--      only when that row is deleted or its validity moves away from the event, whose time then
--      lies in the moved part. Only the partitions of those times are read (none if none moved).
with checked_dates as not materialized (
    select fact, event_date from quality.checked_dates
),

since as not materialized (
    select everything, first_new_xid, running_xids, new_partitions from quality.checked_since
),

moved as not materialized (
    select dimension, key, moved_from, moved_to from quality.moved_versions
),

moved_range as (
    select (min(moved_from) at time zone 'UTC')::date as first_date,
           (max(moved_to) at time zone 'UTC')::date as last_date
    from moved
),

-- The facts, shaped alike (not materialized: each use reads only the partitions it needs).
facts as not materialized (
    select 'fact_sales' as fact, tableoid, xmin, event_id, event_date, transaction_timestamp as event_time,
           date_id, customer_id, product_id_pk, geography_id, user_id, product_id
    from fact_sales
    union all
    select 'fact_product_views', tableoid, xmin, event_id::text, event_date, event_timestamp,
           date_id, customer_id, product_id_pk, geography_id, user_id, product_id
    from fact_product_views
    union all
    select 'fact_cart_events', tableoid, xmin, event_id::text, event_date, event_timestamp,
           date_id, customer_id, product_id_pk, geography_id, user_id, product_id
    from fact_cart_events
),

marked as not materialized (
    select
        f.*,
        (select everything from since)
        or ((f.fact, f.event_date) in (select fact, event_date from checked_dates)
            and (f.tableoid = any((select new_partitions from since)::oid[])
                 or age(f.xmin) <= age((select first_new_xid from since))
                 or f.xmin = any((select running_xids from since)::xid[]))) as written_since
    from facts f
),

checked as (
    -- 1. The rows written since (the date bounds prune the partitions).
    select *
    from marked
    where event_date between (select min(event_date) from checked_dates) and (select max(event_date) from checked_dates)
      and written_since
    union all
    -- 2. The other rows of the moved times pointing at a moved row.
    select *
    from marked
    where event_date between (select first_date from moved_range) and (select last_date from moved_range)
      and not written_since
      and (date_id in (select key from moved where dimension = 'dim_date')
           or customer_id in (select key from moved where dimension = 'dim_customers')
           or product_id_pk in (select key from moved where dimension = 'dim_products')
           or geography_id in (select key from moved where dimension = 'dim_geography'))
)

select f.fact, f.event_id, f.event_date, f.date_id, f.customer_id, f.product_id_pk, f.geography_id
from checked f
left join dim_date d on d.date_id = f.date_id
left join dim_customers c on c.customer_id = f.customer_id
left join dim_products p on p.product_id_pk = f.product_id_pk
left join dim_geography g on g.geography_id = f.geography_id
where d.date_id is null
   or d.full_date <> f.event_date
   or c.customer_id is null
   or (f.customer_id <> -1
       and (c.user_id <> f.user_id
            or f.event_time < c.effective_from
            or f.event_time >= coalesce(c.effective_to, 'infinity')))
   or p.product_id_pk is null
   or (f.product_id_pk <> -1
       and (p.product_id <> f.product_id
            or f.event_time < p.effective_from
            or f.event_time >= coalesce(p.effective_to, 'infinity')))
   or g.geography_id is null
