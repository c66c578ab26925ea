-- sales_trends: orders, revenue, average order value and units per category and period (ISO
-- week, month, quarter), each period labelled with its year ('2027-W01' is the ISO week of
-- 2027, whose Monday may fall in December 2026). Sales on or before the analysis date; a line's
-- category is the one of the product version it sold. Written in the shared SQL.
--
-- growth_rate compares revenue with the calendar-previous period of the same kind and category
-- (March with February, not with the last month that had sales): NULL when that period had no
-- sales (growth from zero is undefined), as for the first period.
-- is_complete: the period ended before the analysis date. The analysis date's own day counts as
-- partial (a scheduled run analyses today, whose sales are still arriving), so a period that ends
-- on it is not complete yet; the current period never is.
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

-- Each day in its week, month and quarter, with the first days of the period before and after.
periods as (
    select
        'week' as period_type,
        cast(extract(isoyear from event_date) as integer) || '-W'
            || lpad(cast(cast(extract(week from event_date) as integer) as varchar), 2, '0') as period_value,
        cast(date_trunc('week', event_date) as date) as period_start,
        cast(date_trunc('week', event_date) - interval '7 days' as date) as previous_start,
        cast(date_trunc('week', event_date) + interval '7 days' as date) as next_start,
        daily.*
    from daily
    union all
    select
        'month',
        cast(extract(year from event_date) as integer) || '-'
            || lpad(cast(cast(extract(month from event_date) as integer) as varchar), 2, '0'),
        cast(date_trunc('month', event_date) as date),
        cast(date_trunc('month', event_date) - interval '1 month' as date),
        cast(date_trunc('month', event_date) + interval '1 month' as date),
        daily.*
    from daily
    union all
    select
        'quarter',
        cast(extract(year from event_date) as integer) || '-Q' || cast(cast(extract(quarter from event_date) as integer) as varchar),
        cast(date_trunc('quarter', event_date) as date),
        cast(date_trunc('quarter', event_date) - interval '3 months' as date),
        cast(date_trunc('quarter', event_date) + interval '3 months' as date),
        daily.*
    from daily
),

totals as (
    select
        period_type, period_value, period_start, previous_start, next_start, category,
        sum(total_sales) as total_sales,
        sum(total_revenue) as total_revenue,
        sum(total_quantity) as total_quantity
    from periods
    group by period_type, period_value, period_start, previous_start, next_start, category
),

-- The row before in the same series is the calendar-previous period only when no period
-- without sales lies between them.
compared as (
    select
        totals.*,
        case
            when lag(period_start) over by_period = previous_start then lag(total_revenue) over by_period
        end as previous_revenue
    from totals
    window by_period as (partition by period_type, category order by period_start)
),

final as (
    select
        -- ids
        period_type, period_value, period_start, category,
        -- numerics
        total_sales,
        total_revenue,
        round_ratio(total_revenue, total_sales, 2) as avg_order_value,
        total_quantity,
        round_ratio(total_revenue - previous_revenue, previous_revenue, 6) as growth_rate,
        -- as of
        cast(:'analysis_date' as date) as analysis_date,
        next_start <= cast(:'analysis_date' as date) as is_complete
    from compared
)

select * from final
