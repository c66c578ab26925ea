-- Versions of a natural key follow each other without gaps: each ends where the next begins.
with versions as (
    select 'dim_products' as dimension, product_id as natural_key, effective_from, effective_to,
           lead(effective_from) over (partition by product_id order by effective_from) as next_from
    from dim_products
    union all
    select 'dim_customers', user_id, effective_from, effective_to,
           lead(effective_from) over (partition by user_id order by effective_from)
    from dim_customers
)

select dimension, natural_key, effective_from, effective_to, next_from
from versions
where effective_to is distinct from next_from
