comment on column sales_trends.growth_rate is null;
alter table sales_trends drop column is_complete;
