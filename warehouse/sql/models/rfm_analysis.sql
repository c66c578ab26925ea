-- rfm_analysis: recency, frequency and monetary value of every customer with an order on or
-- before the analysis date; scores 1-5 by quintile (deterministic on ties, DESIGN.md) and the
-- segment from the R x F grid below. Written in the SQL PostgreSQL and DuckDB share.
with orders as (
    select user_id, transaction_id, max(event_date) as order_date, sum(total_amount) as order_value
    from fact_sales
    where event_date <= cast(:'analysis_date' as date)
    group by user_id, transaction_id
),

customers as (
    select
        user_id,
        cast(cast(:'analysis_date' as date) - max(order_date) as integer) as recency_days,
        count(*) as frequency_count,                 -- distinct orders, not lines
        sum(order_value) as monetary_value
    from orders
    group by user_id
),

scored as (
    select
        *,
        ntile(5) over (order by recency_days desc, user_id) as recency_score,  -- most recent = 5
        ntile(5) over (order by frequency_count, user_id) as frequency_score,
        ntile(5) over (order by monetary_value, user_id) as monetary_score
    from customers
),

-- The segment of each (R, F) pair; M ranks customers inside a segment.
--   R \ F |  1              2                   3                   4                 5
--   5     |  New            Potential Loyalist  Potential Loyalist  Champions         Champions
--   4     |  Promising      Potential Loyalist  Potential Loyalist  Loyal             Loyal
--   3     |  About to Sleep About to Sleep      Need Attention      Loyal             Loyal
--   2     |  Hibernating    Hibernating         At Risk             At Risk           Can't Lose Them
--   1     |  Lost           Hibernating         At Risk             At Risk           Can't Lose Them
segment_grid (recency_score, frequency_score, rfm_segment) as (
    values
        (5, 1, 'New'), (5, 2, 'Potential Loyalist'), (5, 3, 'Potential Loyalist'), (5, 4, 'Champions'), (5, 5, 'Champions'),
        (4, 1, 'Promising'), (4, 2, 'Potential Loyalist'), (4, 3, 'Potential Loyalist'), (4, 4, 'Loyal'), (4, 5, 'Loyal'),
        (3, 1, 'About to Sleep'), (3, 2, 'About to Sleep'), (3, 3, 'Need Attention'), (3, 4, 'Loyal'), (3, 5, 'Loyal'),
        (2, 1, 'Hibernating'), (2, 2, 'Hibernating'), (2, 3, 'At Risk'), (2, 4, 'At Risk'), (2, 5, 'Can''t Lose Them'),
        (1, 1, 'Lost'), (1, 2, 'Hibernating'), (1, 3, 'At Risk'), (1, 4, 'At Risk'), (1, 5, 'Can''t Lose Them')
),

final as (
    select
        cast(:'analysis_date' as date) as analysis_date,
        s.user_id,
        -- values
        s.recency_days, s.frequency_count, s.monetary_value,
        -- scores and segment
        s.recency_score, s.frequency_score, s.monetary_score,
        g.rfm_segment
    from scored s
    join segment_grid g
        on g.recency_score = s.recency_score and g.frequency_score = s.frequency_score
)

select * from final
