-- Realtime -> stg_cart_events.
with source as (
    select * from cart_events
),

final as (
    select
        event_id, event_type, user_id, product_id, session_id,
        quantity, price, country,
        event_timestamp, ingested_at
    from source
    where ingested_at > cast(:'since' as timestamptz)
      and ingested_at <= cast(:'until' as timestamptz)
      and event_timestamp >= cast(:'from_ts' as timestamptz)
      and event_timestamp < cast(:'to_ts' as timestamptz)
)

select * from final
