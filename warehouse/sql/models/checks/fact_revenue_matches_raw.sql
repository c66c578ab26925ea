-- Over the checked window (the orders in stg_transactions), each order's revenue in fact_sales
-- equals its total in the raw data.
with raw as (
    select transaction_id, total_amount from stg_transactions
),

loaded as (
    select f.transaction_id, sum(f.total_amount) as total_amount
    from fact_sales f
    join raw r on r.transaction_id = f.transaction_id
    group by f.transaction_id
)

select r.transaction_id, r.total_amount as raw_revenue, l.total_amount as fact_revenue
from raw r
left join loaded l on l.transaction_id = r.transaction_id
where l.total_amount is distinct from r.total_amount
