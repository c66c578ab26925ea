-- Over the checked window (the orders in stg_transactions), each order's revenue in fact_sales
-- equals its total in the raw data.
--
-- Covers the orders the quality job stages: those ingested in the last day up to the facts
-- job's watermark (every order on a full check). Only the fact_sales partitions of their event
-- dates are read.
with raw as (
    select transaction_id, total_amount, (transaction_timestamp at time zone 'UTC')::date as event_date
    from stg_transactions
),

loaded as (
    select f.transaction_id, sum(f.total_amount) as total_amount
    from fact_sales f
    where f.event_date between (select min(event_date) from raw) and (select max(event_date) from raw)
      and f.transaction_id in (select transaction_id from raw)
    group by f.transaction_id
)

select r.transaction_id, r.total_amount as raw_revenue, l.total_amount as fact_revenue
from raw r
left join loaded l on l.transaction_id = r.transaction_id
where l.total_amount is distinct from r.total_amount
