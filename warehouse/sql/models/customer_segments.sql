-- customer_segments: per RFM segment of the analysis date, its customers, revenue and average
-- order value. Reads the rfm_analysis rows of that date.
with rfm as (
    select * from rfm_analysis where analysis_date = cast(:'analysis_date' as date)
),

final as (
    select
        rfm_segment as segment_name,
        count(*) as customer_count,
        sum(monetary_value) as total_revenue,
        round_ratio(sum(monetary_value), sum(frequency_count), 2) as avg_order_value
    from rfm
    group by rfm_segment
)

select * from final
