-- Realtime -> stg_transaction_items: the lines of the orders extract_transactions selects.
with orders as (
    select transaction_id from transactions
    where ingested_at > cast(:'since' as timestamptz)
      and ingested_at <= cast(:'until' as timestamptz)
      and transaction_timestamp >= cast(:'from_ts' as timestamptz)
      and transaction_timestamp < cast(:'to_ts' as timestamptz)
),

final as (
    select i.transaction_id, i.line_number, i.product_id, i.quantity, i.price
    from transaction_items i
    join orders o on o.transaction_id = i.transaction_id
)

select * from final
