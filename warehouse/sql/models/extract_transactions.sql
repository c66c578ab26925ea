-- Realtime -> stg_transactions: orders that arrived since the watermark (minus the lookback).
with source as (
    select * from transactions
),

final as (
    select
        -- ids
        transaction_id, user_id, session_id,
        -- numerics
        total_amount, currency, payment_method, country,
        -- timestamps
        transaction_timestamp, ingested_at
    from source
    where ingested_at > cast(:'since' as timestamptz)
      and ingested_at <= cast(:'until' as timestamptz)
      and transaction_timestamp >= cast(:'from_ts' as timestamptz)
      and transaction_timestamp < cast(:'to_ts' as timestamptz)
)

select * from final
