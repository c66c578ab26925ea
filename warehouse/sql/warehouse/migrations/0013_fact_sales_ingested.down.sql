drop index if exists fact_sales_line1_ingested_idx;
