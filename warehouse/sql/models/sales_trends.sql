-- sales_trends: orders, revenue, average order value and units per category and period (ISO
-- week, month, quarter), each period labelled with its year ('2027-W01' is the ISO week of
-- 2027, whose Monday may fall in December 2026), and revenue growth against the previous period
-- of the same kind and category (NULL for the first). Sales on or before the analysis date; a
-- line's category is the one of the product version it sold. Written in the shared SQL.
with lines as (
    select
        f.transaction_id, f.event_date, f.quantity, f.total_amount,
        coalesce(p.category, 'Unknown') as category
    from fact_sales f
    left join dim_products p on p.product_id_pk = f.product_id_pk
    where f.event_date <= cast(:'analysis_date' as date)
),

-- Per day first: all lines of an order share its day, so a period's distinct orders are the sum
-- of its days' and the periods below add up a few thousand rows instead of every line three times.
daily as (
    select
        event_date, category,
        count(distinct transaction_id) as total_sales,
        sum(total_amount) as total_revenue,
        sum(quantity) as total_quantity
    from lines
    group by event_date, category
),

periods as (
    select
        'week' as period_type,
        cast(extract(isoyear from event_date) as integer) || '-W'
            || lpad(cast(cast(extract(week from event_date) as integer) as varchar), 2, '0') as period_value,
        cast(date_trunc('week', event_date) as date) as period_start,
        daily.*
    from daily
    union all
    select
        'month',
        cast(extract(year from event_date) as integer) || '-'
            || lpad(cast(cast(extract(month from event_date) as integer) as varchar), 2, '0'),
        cast(date_trunc('month', event_date) as date),
        daily.*
    from daily
    union all
    select
        'quarter',
        cast(extract(year from event_date) as integer) || '-Q' || cast(cast(extract(quarter from event_date) as integer) as varchar),
        cast(date_trunc('quarter', event_date) as date),
        daily.*
    from daily
),

totals as (
    select
        period_type, period_value, period_start, category,
        sum(total_sales) as total_sales,
        sum(total_revenue) as total_revenue,
        sum(total_quantity) as total_quantity
    from periods
    group by period_type, period_value, period_start, category
),

final as (
    select
        period_type, period_value, period_start, category,
        total_sales,
        total_revenue,
        round_ratio(total_revenue, total_sales, 2) as avg_order_value,
        total_quantity,
        round_ratio(
            total_revenue - lag(total_revenue) over by_period,
            lag(total_revenue) over by_period,
            6
        ) as growth_rate,
        cast(:'analysis_date' as date) as analysis_date
    from totals
    window by_period as (partition by period_type, category order by period_start)
)

select * from final
