-- product_performance: per day and product, orders, units, revenue, views, cart adds and the
-- view-to-purchase conversion (orders / views, NULL without views). The product's category is
-- its current one. Written in the SQL PostgreSQL and DuckDB share (see README.md).
with sales as (
    select
        event_date as analysis_date,
        product_id,
        count(distinct transaction_id) as total_sales,
        sum(quantity) as total_quantity,
        sum(total_amount) as total_revenue
    from fact_sales
    group by event_date, product_id
),

views as (
    select event_date as analysis_date, product_id, count(*) as total_views
    from fact_product_views
    group by event_date, product_id
),

cart_adds as (
    select event_date as analysis_date, product_id, count(*) as total_cart_adds
    from fact_cart_events
    where event_type = 'add'
    group by event_date, product_id
),

product_days as (
    select analysis_date, product_id from sales
    union
    select analysis_date, product_id from views
    union
    select analysis_date, product_id from cart_adds
),

categories as (
    select product_id, category from dim_products where is_current and product_id_pk <> -1
),

final as (
    select
        d.analysis_date,
        d.product_id,
        coalesce(c.category, 'Unknown') as category,
        -- counts
        coalesce(s.total_sales, 0) as total_sales,
        coalesce(s.total_quantity, 0) as total_quantity,
        coalesce(s.total_revenue, 0) as total_revenue,
        coalesce(v.total_views, 0) as total_views,
        coalesce(a.total_cart_adds, 0) as total_cart_adds,
        -- ratios
        round_ratio(coalesce(s.total_sales, 0), v.total_views, 6) as conversion_rate,
        round_ratio(s.total_revenue, s.total_quantity, 2) as avg_price
    from product_days d
    left join sales s on s.analysis_date = d.analysis_date and s.product_id = d.product_id
    left join views v on v.analysis_date = d.analysis_date and v.product_id = d.product_id
    left join cart_adds a on a.analysis_date = d.analysis_date and a.product_id = d.product_id
    left join categories c on c.product_id = d.product_id
)

select * from final
