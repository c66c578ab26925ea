-- Realtime -> stg_product_views.
with source as (
    select * from product_view_events
),

final as (
    select
        event_id, user_id, product_id, session_id,
        view_duration, country,
        event_timestamp, ingested_at
    from source
    where ingested_at > cast(:'since' as timestamptz)
      and ingested_at <= cast(:'until' as timestamptz)
      and event_timestamp >= cast(:'from_ts' as timestamptz)
      and event_timestamp < cast(:'to_ts' as timestamptz)
)

select * from final
