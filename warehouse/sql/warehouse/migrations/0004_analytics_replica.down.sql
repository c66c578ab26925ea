drop table if exists analytics_replica;
