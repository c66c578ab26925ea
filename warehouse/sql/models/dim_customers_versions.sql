-- dim_customers (SCD2 on country and value segment): the versions every customer with new orders
-- should have, recomputed from all their orders (loaded ones from fact_sales, new ones from
-- staging; an order is counted once). A version starts at the first order, and again whenever
-- the order's country or the customer's value segment (by spend to date) changes.
with changed_customers as (
    select distinct user_id from stg_transactions
),

loaded_orders as (
    select f.transaction_id, f.user_id, g.country, f.transaction_timestamp, sum(f.total_amount) as amount
    from fact_sales f
    join changed_customers c on c.user_id = f.user_id
    join dim_geography g on g.geography_id = f.geography_id
    group by f.transaction_id, f.user_id, g.country, f.transaction_timestamp
),

orders as (
    select distinct on (transaction_id) transaction_id, user_id, country, transaction_timestamp, amount
    from (
        select transaction_id, user_id, country, transaction_timestamp, total_amount as amount, 1 as preference
        from stg_transactions
        union all
        select transaction_id, user_id, country, transaction_timestamp, amount, 2 from loaded_orders
    ) candidates
    order by transaction_id, preference
),

to_date as (
    select
        *,
        sum(amount) over by_time as spent_to_date,
        count(*) over by_time as orders_to_date
    from orders
    window by_time as (partition by user_id order by transaction_timestamp, transaction_id rows unbounded preceding)
),

-- The value segment rule, by spend to date.
segmented as (
    select
        *,
        case
            when spent_to_date >= 1000 then 'High Value'
            when spent_to_date >= 200 then 'Medium Value'
            else 'Low Value'
        end as customer_segment
    from to_date
),

compared as (
    select
        *,
        lag(country) over by_time as previous_country,
        lag(customer_segment) over by_time as previous_segment,
        row_number() over by_time as position
    from segmented
    window by_time as (partition by user_id order by transaction_timestamp, transaction_id)
),

islands as (
    select
        *,
        sum(case when position = 1 or country <> previous_country or customer_segment <> previous_segment
            then 1 else 0 end) over (partition by user_id order by transaction_timestamp, transaction_id) as version
    from compared
),

versions as (
    select
        user_id, version,
        min(country) as country,
        min(customer_segment) as customer_segment,
        min(transaction_timestamp) as valid_from,
        max(transaction_timestamp) as last_order_at,
        max(orders_to_date) as total_transactions,
        max(spent_to_date) as total_spent
    from islands
    group by user_id, version
),

-- Two orders at the same instant that start two versions: the later one (by id) wins, so that
-- no version is empty.
kept_versions as (
    select *
    from (
        select *, lead(valid_from) over (partition by user_id order by version) as next_from
        from versions
    ) v
    where next_from is null or next_from > valid_from
),

final as (
    select
        v.user_id,
        -- tracked
        v.country, v.customer_segment,
        -- descriptive, as of the version's last order
        (min(v.valid_from) over (partition by v.user_id) at time zone 'UTC')::date as first_transaction_date,
        (v.last_order_at at time zone 'UTC')::date as last_transaction_date,
        v.total_transactions,
        v.total_spent,
        round(v.total_spent / v.total_transactions, 2) as avg_order_value,
        -- validity
        v.valid_from as effective_from,
        lead(v.valid_from) over (partition by v.user_id order by v.valid_from) as effective_to
    from kept_versions v
)

select * from final
