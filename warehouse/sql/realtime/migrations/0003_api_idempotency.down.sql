drop table if exists api_idempotency_keys;
