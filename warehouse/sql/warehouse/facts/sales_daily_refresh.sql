-- sales_daily_refresh: brings sales_daily (migration 0012) up to the facts a facts run publishes.
-- The facts job runs it in its transaction, after its loads and before it writes its watermark,
-- so a reader's snapshot holds both or neither. By hand, in one transaction (the temp tables go
-- at commit):
--   psql -1 -v run_id=42 -v full_refresh=false -v watermark='' -f sales_daily_refresh.sql
-- watermark: the one the run publishes ('' when it keeps the current one).
--
-- An incremental or ranged run rebuilds the days it loaded lines for (fact_load_dates). A full
-- refresh, or an aggregate that does not describe the facts before this run (never built, or a
-- facts run without this refresh), is rebuilt whole (5 million events: about 10 s).

create temp table sales_daily_scope on commit drop as
select
    cast(:'full_refresh' as boolean)
    or not exists (
        select from sales_daily_state s
        where s.facts_watermark is not distinct from (select watermark from etl_watermarks where job_name = 'facts')
    ) as whole;

create temp table sales_daily_dates on commit drop as
select distinct event_date from fact_sales where (select whole from sales_daily_scope)
union
select event_date from fact_load_dates
where run_id = cast(:'run_id' as bigint) and fact = 'fact_sales' and not (select whole from sales_daily_scope);

delete from sales_daily
where (select whole from sales_daily_scope) or event_date in (select event_date from sales_daily_dates);

-- New customers get the next dense numbers (a customer keeps its number for good).
insert into sales_customer_keys (user_id, customer_key)
select u.user_id, cast((select coalesce(max(customer_key), -1) from sales_customer_keys) + row_number() over (order by u.user_id) as integer)
from (
    select distinct f.user_id
    from fact_sales f
    where f.event_date = any(array(select event_date from sales_daily_dates))
) u
where not exists (select from sales_customer_keys k where k.user_id = u.user_id);

-- Every bit string is this long: every customer number fits, in steps of 16,384 bits (2 kB).
create temp table sales_daily_bits on commit drop as
select greatest(
    coalesce((select customer_bits from sales_daily_state), 0),
    cast(ceil((coalesce(max(customer_key), 0) + 1) / 16384.0) * 16384 as integer)
) as bits
from sales_customer_keys;

-- Grown: the days kept get zeros for the new numbers.
update sales_daily d
set customers = d.customers || cast(repeat('0', b.bits - length(d.customers)) as varbit)
from sales_daily_bits b
where length(d.customers) < b.bits;

insert into sales_daily (event_date, country, revenue, orders, units, customers)
with lines as (
    select f.event_date, f.geography_id, f.line_number, f.quantity, f.total_amount, k.customer_key
    from fact_sales f
    join sales_customer_keys k on k.user_id = f.user_id
    where f.event_date = any(array(select event_date from sales_daily_dates))
),

-- cells: the day (geo -2) and the day per geography; line 1 counts each order once (an order's
-- lines share its country)
cells as (
    select
        event_date, coalesce(geography_id, -2) as geo,
        sum(total_amount) as revenue,
        count(*) filter (where line_number = 1) as orders,
        sum(quantity) as units
    from lines
    group by grouping sets ((event_date), (event_date, geography_id))
),

customer_cells as (
    select distinct event_date, geography_id as geo, customer_key from lines
    union all
    select distinct event_date, -2, customer_key from lines
),

-- The bit string of each cell, written out as text: the zeros before each customer's number, then its 1.
bit_strings as (
    select
        event_date, geo,
        string_agg(repeat('0', customer_key - previous_key - 1) || '1', '' order by customer_key) as bits,
        max(customer_key) as last_key
    from (
        select *, lag(customer_key, 1, -1) over (partition by event_date, geo order by customer_key) as previous_key
        from customer_cells
    ) ordered
    group by event_date, geo
),

final as (
    select
        c.event_date,
        g.country,
        c.revenue, c.orders, c.units,
        cast(b.bits || repeat('0', (select bits from sales_daily_bits) - b.last_key - 1) as varbit) as customers
    from cells c
    join bit_strings b on b.event_date = c.event_date and b.geo = c.geo
    left join dim_geography g on g.geography_id = c.geo
    where c.geo = -2 or g.geography_id is not null
)

select * from final;

insert into sales_daily_state (only_row, facts_watermark, customer_bits, refreshed_by_run)
select
    true,
    coalesce(cast(nullif(:'watermark', '') as timestamptz), (select watermark from etl_watermarks where job_name = 'facts')),
    bits,
    cast(:'run_id' as bigint)
from sales_daily_bits
on conflict (only_row) do update
set facts_watermark = excluded.facts_watermark, customer_bits = excluded.customer_bits,
    refreshed_by_run = excluded.refreshed_by_run, refreshed_at = now();

analyze sales_daily;
