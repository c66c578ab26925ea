-- dim_products (SCD2 on name, category, price): the versions every changed product should have.
-- The history is the versions we already have plus the catalog records that arrived since, so
-- a late record (older than the current version) slots into its place. Consecutive records with
-- the same attributes are one version; a change back to an earlier price is a new version.
-- The batch layer merges this into dim_products, keeping surrogate keys that still fit.
with changed_products as (
    select distinct product_id from stg_catalog_events
),

history as (
    select d.product_id, d.name, d.category, d.price, d.effective_from as valid_from
    from dim_products d
    join changed_products c on c.product_id = d.product_id
    where d.product_id_pk <> -1
      and not cast(:'full_refresh' as boolean)
    union
    select product_id, name, category, price, updated_at
    from stg_catalog_events
),

compared as (
    select
        *,
        lag(name) over by_time as previous_name,
        lag(category) over by_time as previous_category,
        lag(price) over by_time as previous_price,
        row_number() over by_time as position
    from history
    window by_time as (partition by product_id order by valid_from)
),

version_starts as (
    select product_id, name, category, price, valid_from
    from compared
    where position = 1
       or (name, category, price) is distinct from (previous_name, previous_category, previous_price)
),

final as (
    select
        product_id,
        -- tracked
        name, category, price,
        -- validity: [effective_from, effective_to), NULL while current
        valid_from as effective_from,
        lead(valid_from) over (partition by product_id order by valid_from) as effective_to
    from version_starts
)

select * from final
