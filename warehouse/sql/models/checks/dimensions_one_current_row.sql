-- Exactly one current version per natural key.
select 'dim_products' as dimension, product_id as natural_key, count(*) filter (where is_current) as current_rows
from dim_products
group by product_id
having count(*) filter (where is_current) <> 1
union all
select 'dim_customers', user_id, count(*) filter (where is_current)
from dim_customers
group by user_id
having count(*) filter (where is_current) <> 1
