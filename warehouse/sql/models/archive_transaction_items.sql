-- Realtime -> lake: transaction lines with their order's time and ingestion time, so the lake
-- can partition them by the order's date and a later archive can find them.
with orders as (
    select transaction_id, transaction_timestamp, ingested_at from transactions
    where ingested_at > cast(:'since' as timestamptz)
      and ingested_at <= cast(:'until' as timestamptz)
),

final as (
    select i.transaction_id, i.line_number, i.product_id, i.quantity, i.price,
           o.transaction_timestamp, o.ingested_at
    from transaction_items i
    join orders o on o.transaction_id = i.transaction_id
)

select * from final
