-- fact_sales: one row per transaction line, joined to the dimension versions valid at the
-- order's instant (point in time, not is_current); an unknown member (-1) when none is.
-- (The validity test is written out rather than as tstzrange @>, so that a bulk load hash-joins
-- on the natural key instead of probing the gist index row by row.)
-- Append-only and keyed by event id: a line already loaded is left alone.
insert into fact_sales (
    event_id, transaction_id, line_number, date_id, customer_id, product_id_pk, geography_id,
    user_id, product_id, session_id, currency, payment_method,
    quantity, unit_price, total_amount, transaction_timestamp, event_date, ingested_at
)
with lines as (
    select
        t.transaction_id, i.line_number, t.user_id, i.product_id, t.session_id,
        t.currency, t.payment_method, t.country,
        i.quantity, i.price,
        t.transaction_timestamp, t.ingested_at
    from stg_transaction_items i
    join stg_transactions t on t.transaction_id = i.transaction_id
),

final as (
    select
        -- ids
        l.transaction_id::text || ':' || l.line_number as event_id,
        l.transaction_id,
        l.line_number,
        to_char(l.transaction_timestamp at time zone 'UTC', 'YYYYMMDD')::integer as date_id,
        coalesce(c.customer_id, -1) as customer_id,
        coalesce(p.product_id_pk, -1) as product_id_pk,
        coalesce(g.geography_id, -1) as geography_id,
        l.user_id, l.product_id, l.session_id, l.currency, l.payment_method,
        -- numerics
        l.quantity,
        l.price as unit_price,
        l.quantity * l.price as total_amount,
        -- timestamps
        l.transaction_timestamp,
        (l.transaction_timestamp at time zone 'UTC')::date as event_date,
        l.ingested_at
    from lines l
    left join dim_customers c
        on c.user_id = l.user_id
       and l.transaction_timestamp >= c.effective_from
       and (c.effective_to is null or l.transaction_timestamp < c.effective_to)
    left join dim_products p
        on p.product_id = l.product_id
       and l.transaction_timestamp >= p.effective_from
       and (p.effective_to is null or l.transaction_timestamp < p.effective_to)
    left join dim_geography g on g.country = l.country
)

select * from final
on conflict (event_id, event_date) do nothing;
