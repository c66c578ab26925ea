-- The scope of a full quality check: every natural key of the SCD2 dimensions, every row of
-- every fact partition (quality.checked_dates holds every date they can hold: the job adds those
-- per partition first, as their bounds say). Runs in the quality job's transaction, after it
-- emptied the quality.checked_* tables.
--
--   psql "$WAREHOUSE_DATABASE_URL" -v new_partitions='{}' -f scope_everything.sql
--
-- new_partitions: the oids of every fact partition, as a PostgreSQL array ('{16500,16510}').

insert into quality.checked_since (everything, first_new_xid, running_xids, new_partitions)
values (true, '0', '{}', :'new_partitions'::oid[]);

insert into quality.checked_keys (dimension, natural_key)
select distinct 'dim_products', product_id from dim_products
union all
select distinct 'dim_customers', user_id from dim_customers;
