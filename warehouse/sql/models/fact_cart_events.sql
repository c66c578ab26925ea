-- fact_cart_events: one row per cart add or remove, point-in-time joined like fact_sales (and,
-- like it, written in the SQL PostgreSQL and DuckDB share).
with carts as (
    select
        *,
        cast(event_timestamp at time zone 'UTC' as date) as event_date
    from stg_cart_events
),

final as (
    select
        -- ids
        e.event_id,
        cast(date_part('year', e.event_date) * 10000 + date_part('month', e.event_date) * 100
             + date_part('day', e.event_date) as integer) as date_id,  -- yyyymmdd
        coalesce(c.customer_id, -1) as customer_id,
        coalesce(p.product_id_pk, -1) as product_id_pk,
        coalesce(g.geography_id, -1) as geography_id,
        e.user_id, e.product_id, e.session_id,
        e.event_type,
        -- numerics
        e.quantity,
        e.price as unit_price,
        cast(e.quantity * e.price as decimal(14, 2)) as total_amount,
        -- timestamps
        e.event_timestamp,
        e.event_date,
        e.ingested_at
    from carts e
    left join dim_customers c
        on c.user_id = e.user_id
       and e.event_timestamp >= c.effective_from
       and e.event_timestamp < coalesce(c.effective_to, cast('infinity' as timestamptz))
    left join dim_products p
        on p.product_id = e.product_id
       and e.event_timestamp >= p.effective_from
       and e.event_timestamp < coalesce(p.effective_to, cast('infinity' as timestamptz))
    left join dim_geography g on g.country = e.country
)

select * from final
