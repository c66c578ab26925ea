-- fact_product_views: one row per view, point-in-time joined like fact_sales (and, like it,
-- written in the SQL PostgreSQL and DuckDB share).
with views as (
    select
        *,
        cast(event_timestamp at time zone 'UTC' as date) as event_date
    from stg_product_views
),

final as (
    select
        -- ids
        v.event_id,
        cast(date_part('year', v.event_date) * 10000 + date_part('month', v.event_date) * 100
             + date_part('day', v.event_date) as integer) as date_id,  -- yyyymmdd
        coalesce(c.customer_id, -1) as customer_id,
        coalesce(p.product_id_pk, -1) as product_id_pk,
        coalesce(g.geography_id, -1) as geography_id,
        v.user_id, v.product_id, v.session_id,
        'view' as event_type,
        -- numerics
        v.view_duration,
        -- timestamps
        v.event_timestamp,
        v.event_date,
        v.ingested_at
    from views v
    left join dim_customers c
        on c.user_id = v.user_id
       and v.event_timestamp >= c.effective_from
       and v.event_timestamp < coalesce(c.effective_to, cast('infinity' as timestamptz))
    left join dim_products p
        on p.product_id = v.product_id
       and v.event_timestamp >= p.effective_from
       and v.event_timestamp < coalesce(p.effective_to, cast('infinity' as timestamptz))
    left join dim_geography g on g.country = v.country
)

select * from final
