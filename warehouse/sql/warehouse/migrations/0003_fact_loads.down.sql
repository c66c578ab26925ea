drop schema if exists fact_build cascade;
drop table if exists fact_lookback_keys;
drop table if exists fact_load_dates;

create index fact_cart_events_customer_idx on fact_cart_events (customer_id);
create index fact_cart_events_product_idx on fact_cart_events (product_id_pk);
create index fact_cart_events_date_idx on fact_cart_events (date_id);
create index fact_product_views_customer_idx on fact_product_views (customer_id);
create index fact_product_views_product_idx on fact_product_views (product_id_pk);
create index fact_product_views_date_idx on fact_product_views (date_id);
create index fact_sales_product_idx on fact_sales (product_id_pk);
create index fact_sales_customer_idx on fact_sales (customer_id);
create index fact_sales_date_idx on fact_sales (date_id);

-- The foreign keys come back only if every fact key is a dimension row (as the quality job checks).
alter table fact_cart_events
    add constraint fact_cart_events_date_id_fkey foreign key (date_id) references dim_date (date_id),
    add constraint fact_cart_events_customer_id_fkey foreign key (customer_id) references dim_customers (customer_id),
    add constraint fact_cart_events_product_id_pk_fkey foreign key (product_id_pk) references dim_products (product_id_pk),
    add constraint fact_cart_events_geography_id_fkey foreign key (geography_id) references dim_geography (geography_id);
alter table fact_product_views
    add constraint fact_product_views_date_id_fkey foreign key (date_id) references dim_date (date_id),
    add constraint fact_product_views_customer_id_fkey foreign key (customer_id) references dim_customers (customer_id),
    add constraint fact_product_views_product_id_pk_fkey foreign key (product_id_pk) references dim_products (product_id_pk),
    add constraint fact_product_views_geography_id_fkey foreign key (geography_id) references dim_geography (geography_id);
alter table fact_sales
    add constraint fact_sales_date_id_fkey foreign key (date_id) references dim_date (date_id),
    add constraint fact_sales_customer_id_fkey foreign key (customer_id) references dim_customers (customer_id),
    add constraint fact_sales_product_id_pk_fkey foreign key (product_id_pk) references dim_products (product_id_pk),
    add constraint fact_sales_geography_id_fkey foreign key (geography_id) references dim_geography (geography_id);
