-- Natural keys and tracked attributes are present.
select 'dim_products' as dimension, product_id_pk as key, product_id as natural_key
from dim_products
where product_id is null or product_id = '' or name is null or category is null or price is null
union all
select 'dim_customers', customer_id, user_id
from dim_customers
where user_id is null or user_id = '' or country is null or customer_segment is null
