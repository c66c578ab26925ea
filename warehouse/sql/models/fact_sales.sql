-- fact_sales: one row per transaction line, joined to the dimension versions valid at the
-- order's instant (point in time, not is_current); an unknown member (-1) when none is.
-- (The validity test is written out, with an open end as 'infinity', rather than as tstzrange
-- @>, so that both engines hash-join on the natural key and filter on the instant.)
-- Written in the SQL PostgreSQL and DuckDB share: an incremental run inserts these rows in
-- PostgreSQL (leaving alone a line already loaded: the facts are append-only, keyed by event id);
-- a full refresh computes them in DuckDB from the lake.
with lines as (
    select
        t.transaction_id, i.line_number, t.user_id, i.product_id, t.session_id,
        t.currency, t.payment_method, t.country,
        i.quantity, i.price,
        t.transaction_timestamp,
        cast(t.transaction_timestamp at time zone 'UTC' as date) as event_date,
        t.ingested_at
    from stg_transaction_items i
    join stg_transactions t on t.transaction_id = i.transaction_id
),

final as (
    select
        -- ids
        cast(l.transaction_id as varchar) || ':' || cast(l.line_number as varchar) as event_id,
        l.transaction_id,
        l.line_number,
        cast(date_part('year', l.event_date) * 10000 + date_part('month', l.event_date) * 100
             + date_part('day', l.event_date) as integer) as date_id,  -- yyyymmdd
        coalesce(c.customer_id, -1) as customer_id,
        coalesce(p.product_id_pk, -1) as product_id_pk,
        coalesce(g.geography_id, -1) as geography_id,
        l.user_id, l.product_id, l.session_id, l.currency, l.payment_method,
        -- numerics
        l.quantity,
        l.price as unit_price,
        cast(l.quantity * l.price as decimal(14, 2)) as total_amount,
        -- timestamps
        l.transaction_timestamp,
        l.event_date,
        l.ingested_at
    from lines l
    left join dim_customers c
        on c.user_id = l.user_id
       and l.transaction_timestamp >= c.effective_from
       and l.transaction_timestamp < coalesce(c.effective_to, cast('infinity' as timestamptz))
    left join dim_products p
        on p.product_id = l.product_id
       and l.transaction_timestamp >= p.effective_from
       and l.transaction_timestamp < coalesce(p.effective_to, cast('infinity' as timestamptz))
    left join dim_geography g on g.country = l.country
)

select * from final
