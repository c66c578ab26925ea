-- Versions of a natural key follow each other without gaps: each ends where the next begins.
--
-- Covers every version of the natural keys in quality.checked_keys: every key with a version
-- written (its xmin), deleted or moved since the last passing run, or every key on a full
-- check. A gap or overlap needs a version written or removed: a key none of whose versions
-- changed keeps the chain it passed with.
with versions as (
    select 'dim_products' as dimension, product_id as natural_key, effective_from, effective_to,
           lead(effective_from) over (partition by product_id order by effective_from) as next_from
    from dim_products
    where product_id in (select natural_key from quality.checked_keys where dimension = 'dim_products')
    union all
    select 'dim_customers', user_id, effective_from, effective_to,
           lead(effective_from) over (partition by user_id order by effective_from)
    from dim_customers
    where user_id in (select natural_key from quality.checked_keys where dimension = 'dim_customers')
)

select dimension, natural_key, effective_from, effective_to, next_from
from versions
where effective_to is distinct from next_from
