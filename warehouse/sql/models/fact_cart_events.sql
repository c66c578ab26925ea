-- fact_cart_events: one row per cart add or remove, point-in-time joined like fact_sales.
insert into fact_cart_events (
    event_id, date_id, customer_id, product_id_pk, geography_id, user_id, product_id, session_id,
    event_type, quantity, unit_price, total_amount, event_timestamp, event_date, ingested_at
)
with carts as (
    select * from stg_cart_events
),

final as (
    select
        -- ids
        e.event_id,
        to_char(e.event_timestamp at time zone 'UTC', 'YYYYMMDD')::integer as date_id,
        coalesce(c.customer_id, -1) as customer_id,
        coalesce(p.product_id_pk, -1) as product_id_pk,
        coalesce(g.geography_id, -1) as geography_id,
        e.user_id, e.product_id, e.session_id,
        e.event_type,
        -- numerics
        e.quantity,
        e.price as unit_price,
        e.quantity * e.price as total_amount,
        -- timestamps
        e.event_timestamp,
        (e.event_timestamp at time zone 'UTC')::date as event_date,
        e.ingested_at
    from carts e
    left join dim_customers c
        on c.user_id = e.user_id
       and e.event_timestamp >= c.effective_from
       and (c.effective_to is null or e.event_timestamp < c.effective_to)
    left join dim_products p
        on p.product_id = e.product_id
       and e.event_timestamp >= p.effective_from
       and (p.effective_to is null or e.event_timestamp < p.effective_to)
    left join dim_geography g on g.country = e.country
)

select * from final
on conflict (event_id, event_date) do nothing;
