-- Natural keys and tracked attributes are present.
--
-- Covers the versions of the natural keys in quality.checked_keys: every key with a version
-- written (its xmin), deleted or moved since the last passing run, or every key on a full
-- check. Only a row written since can have lost a value; the others passed before.
with products as (
    select product_id_pk, product_id, name, category, price
    from dim_products
    where product_id in (select natural_key from quality.checked_keys where dimension = 'dim_products')
),

customers as (
    select customer_id, user_id, country, customer_segment
    from dim_customers
    where user_id in (select natural_key from quality.checked_keys where dimension = 'dim_customers')
)

select 'dim_products' as dimension, product_id_pk as key, product_id as natural_key
from products
where product_id is null or product_id = '' or name is null or category is null or price is null
union all
select 'dim_customers', customer_id, user_id
from customers
where user_id is null or user_id = '' or country is null or customer_segment is null
