-- Every fact row's keys are rows of their dimensions (the unknown members -1 included).
with fact_keys as (
    select 'fact_sales' as fact, event_id, date_id, customer_id, product_id_pk, geography_id from fact_sales
    union all
    select 'fact_product_views', event_id::text, date_id, customer_id, product_id_pk, geography_id from fact_product_views
    union all
    select 'fact_cart_events', event_id::text, date_id, customer_id, product_id_pk, geography_id from fact_cart_events
)

select f.*
from fact_keys f
left join dim_date d on d.date_id = f.date_id
left join dim_customers c on c.customer_id = f.customer_id
left join dim_products p on p.product_id_pk = f.product_id_pk
left join dim_geography g on g.geography_id = f.geography_id
where d.date_id is null or c.customer_id is null or p.product_id_pk is null or g.geography_id is null
