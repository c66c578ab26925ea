drop table if exists sales_daily_state;
drop table if exists sales_daily;
drop table if exists sales_customer_keys;
