drop table if exists customer_orders;

alter table dim_customers reset (fillfactor);
alter table dim_customers
    drop constraint if exists dim_customers_next_version_fkey,
    drop constraint if exists dim_customers_version_end_key,
    drop constraint if exists dim_customers_version_start_key;
create index if not exists dim_customers_natural_key_idx on dim_customers (user_id, effective_from);
create unique index if not exists dim_customers_current_idx on dim_customers (user_id) where is_current;
alter table dim_customers
    add constraint dim_customers_user_id_tstzrange_excl
        exclude using gist (user_id with =, tstzrange(effective_from, effective_to) with &&);

alter table dim_products
    drop constraint if exists dim_products_next_version_fkey,
    drop constraint if exists dim_products_version_end_key,
    drop constraint if exists dim_products_version_start_key;
create index if not exists dim_products_natural_key_idx on dim_products (product_id, effective_from);
create unique index if not exists dim_products_current_idx on dim_products (product_id) where is_current;
alter table dim_products
    add constraint dim_products_product_id_tstzrange_excl
        exclude using gist (product_id with =, tstzrange(effective_from, effective_to) with &&);
