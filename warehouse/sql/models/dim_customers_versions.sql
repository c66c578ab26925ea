-- dim_customers (SCD2 on country and value segment): the versions every customer with new orders
-- should have. A version starts at the first order, and again whenever the order's country or the
-- customer's value segment (by spend to date) changes.
-- Reads new_customer_orders: this run's orders that customer_orders (the orders counted so far)
-- does not hold yet; the batch layer adds them after this model. A customer's orders are replayed
-- from the end of its last version that no new order can change, whose totals are the state up
-- to there: the versions from that one on come out (the batch layer merges them into
-- dim_customers, leaving the older ones alone). That version is the current one when every order
-- counted so far comes before the new ones; none on a full refresh or for a new customer, whose
-- orders are all replayed.
with customers as (
    select user_id, min(transaction_timestamp) as first_new_at
    from new_customer_orders
    group by user_id
),

-- Where each customer's replay resumes: after its last version that ends by its first new order
-- (or after the current one, when no order counted so far is as recent as that), replaying the
-- orders counted from there on; or, without such a version, from the first order.
resume_points as (
    select
        c.user_id,
        b.country, b.effective_from, b.first_transaction_date, b.last_transaction_date,
        b.total_transactions, b.total_spent,
        case when b.effective_from is null then timestamptz '-infinity' else coalesce(b.effective_to, c.first_new_at) end
            as replay_from
    from customers c
    left join lateral (
        select d.*
        from dim_customers d
        where d.user_id = c.user_id
          and (
              d.effective_to <= c.first_new_at
              or (d.effective_to is null and not exists (
                  select 1 from customer_orders o
                  where o.user_id = c.user_id and o.transaction_timestamp >= c.first_new_at
              ))
          )
        order by d.effective_from desc
        limit 1
    ) b on not cast(:'full_refresh' as boolean)
),

-- One step per order replayed (new, or counted after the resume point), and one standing for
-- each resume point: the state up to there (orders, spend and dates), at its version's start.
steps as (
    select
        user_id, transaction_timestamp, transaction_id, country, amount,
        1 as orders, null::date as first_date, null::date as last_date
    from new_customer_orders
    union all
    select r.user_id, o.transaction_timestamp, o.transaction_id, o.country, o.amount, 1, null, null
    from resume_points r
    cross join lateral (
        -- each customer's range of customer_orders' key (offset 0: read range by range, never
        -- the whole table, whatever the planner estimates)
        select * from customer_orders o
        where o.user_id = r.user_id and o.transaction_timestamp >= r.replay_from
        offset 0
    ) o
    union all
    select
        user_id, effective_from, null, country, total_spent,
        total_transactions, first_transaction_date, last_transaction_date
    from resume_points
    where effective_from is not null
),

-- The value segment rule, by spend to date: under 200 Low Value, under 1000 Medium Value, then
-- High Value (tier = width_bucket(spend, lower_bounds), names[tier + 1]).
segment_rule (lower_bounds, names) as (
    values (array[200, 1000]::numeric[], array['Low Value', 'Medium Value', 'High Value'])
),

-- In time order (user_id compared bytewise: faster, and any order of customers will do): each
-- step with the spend and orders to date, and its neighbours' country and amount.
in_order as (
    select
        *,
        sum(amount) over by_time as spent_to_date,
        sum(orders) over by_time as orders_to_date,
        lag(country) over by_time as previous_country,
        lead(country) over by_time as next_country,
        lead(amount) over by_time as next_amount
    from steps
    window by_time as (
        partition by user_id collate "C"
        order by transaction_timestamp, transaction_id
        rows unbounded preceding
    )
),

-- A version starts at a customer's first step and wherever the country or the segment changes;
-- it ends at the last step, or where the next one starts.
boundaries as (
    select
        i.*,
        width_bucket(i.spent_to_date, r.lower_bounds) as tier,
        i.previous_country is null
            or i.country <> i.previous_country
            or width_bucket(i.spent_to_date - i.amount, r.lower_bounds) <> width_bucket(i.spent_to_date, r.lower_bounds)
            as starts,
        i.next_country is null
            or i.next_country <> i.country
            or width_bucket(i.spent_to_date + i.next_amount, r.lower_bounds) <> width_bucket(i.spent_to_date, r.lower_bounds)
            as ends
    from in_order i
    cross join segment_rule r
),

-- Only the steps that start or end a version, with the state after them.
spans as (
    select
        user_id, country, tier, starts, ends, transaction_timestamp, transaction_id, first_date,
        coalesce(last_date, (transaction_timestamp at time zone 'UTC')::date) as last_date,
        spent_to_date, orders_to_date
    from boundaries
    where starts or ends
),

-- A version runs from its starting step to its ending step: the same one, or the next boundary.
versions as (
    select *
    from (
        select
            user_id, country, tier, starts, first_date,
            transaction_timestamp as valid_from,
            transaction_id as started_by,
            case when ends then last_date else lead(last_date) over by_time end as last_date,
            case when ends then spent_to_date else lead(spent_to_date) over by_time end as total_spent,
            case when ends then orders_to_date else lead(orders_to_date) over by_time end as total_transactions
        from spans
        window by_time as (partition by user_id collate "C" order by transaction_timestamp, transaction_id)
    ) v
    where starts
),

-- Two orders at the same instant that start two versions: the later one (by id) wins, so that
-- no version is empty.
kept_versions as (
    select *
    from (
        select *, lead(valid_from) over (partition by user_id collate "C" order by valid_from, started_by) as next_from
        from versions
    ) v
    where next_from is null or next_from > valid_from
),

final as (
    select
        v.user_id,
        -- tracked
        v.country,
        r.names[v.tier + 1] as customer_segment,
        -- descriptive, as of the version's last order
        first_value(coalesce(v.first_date, (v.valid_from at time zone 'UTC')::date)) over by_customer
            as first_transaction_date,
        v.last_date as last_transaction_date,
        v.total_transactions,
        v.total_spent,
        round(v.total_spent / v.total_transactions, 2) as avg_order_value,
        -- validity
        v.valid_from as effective_from,
        lead(v.valid_from) over by_customer as effective_to
    from kept_versions v
    cross join segment_rule r
    window by_customer as (partition by v.user_id collate "C" order by v.valid_from)
)

select * from final
