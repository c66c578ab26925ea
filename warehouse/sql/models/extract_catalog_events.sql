-- Realtime -> stg_catalog_events: catalog records received since the watermark. The event-time
-- range does not apply: a product's whole history decides its versions.
with source as (
    select * from product_catalog_events
),

final as (
    select product_id, updated_at, name, category, price, ingested_at
    from source
    where ingested_at > cast(:'since' as timestamptz)
)

select * from final
