-- Exactly one current version per natural key.
--
-- Covers the natural keys in quality.checked_keys: every key with a version written (its
-- xmin), deleted or moved since the last passing run, or every key on a full check. A key's
-- count of current versions changes only when one of its versions is written or removed.
select 'dim_products' as dimension, product_id as natural_key, count(*) filter (where is_current) as current_rows
from dim_products
where product_id in (select natural_key from quality.checked_keys where dimension = 'dim_products')
group by product_id
having count(*) filter (where is_current) <> 1
union all
select 'dim_customers', user_id, count(*) filter (where is_current)
from dim_customers
where user_id in (select natural_key from quality.checked_keys where dimension = 'dim_customers')
group by user_id
having count(*) filter (where is_current) <> 1
