-- fact_product_views: one row per view, point-in-time joined like fact_sales.
insert into fact_product_views (
    event_id, date_id, customer_id, product_id_pk, geography_id, user_id, product_id, session_id,
    event_type, view_duration, event_timestamp, event_date, ingested_at
)
with views as (
    select * from stg_product_views
),

final as (
    select
        -- ids
        v.event_id,
        to_char(v.event_timestamp at time zone 'UTC', 'YYYYMMDD')::integer as date_id,
        coalesce(c.customer_id, -1) as customer_id,
        coalesce(p.product_id_pk, -1) as product_id_pk,
        coalesce(g.geography_id, -1) as geography_id,
        v.user_id, v.product_id, v.session_id,
        'view' as event_type,
        -- numerics
        v.view_duration,
        -- timestamps
        v.event_timestamp,
        (v.event_timestamp at time zone 'UTC')::date as event_date,
        v.ingested_at
    from views v
    left join dim_customers c
        on c.user_id = v.user_id
       and v.event_timestamp >= c.effective_from
       and (c.effective_to is null or v.event_timestamp < c.effective_to)
    left join dim_products p
        on p.product_id = v.product_id
       and v.event_timestamp >= p.effective_from
       and (p.effective_to is null or v.event_timestamp < p.effective_to)
    left join dim_geography g on g.country = v.country
)

select * from final
on conflict (event_id, event_date) do nothing;
