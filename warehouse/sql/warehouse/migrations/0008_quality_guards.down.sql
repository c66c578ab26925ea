drop table fact_source_snapshot;
alter table data_quality_results drop column severity;
