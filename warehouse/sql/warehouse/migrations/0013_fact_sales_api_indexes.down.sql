drop index if exists fact_sales_timestamp_idx;
drop index if exists fact_sales_line1_ingested_idx;
