-- POST /events honours an Idempotency-Key: the first request with a key records it here, with a
-- hash of its body, and the answer once Kafka has acknowledged the events; a repeat gets that
-- answer again without sending anything. In the database rather than in the API process, so
-- several API processes agree. Rows older than a day may be deleted (the API does, as it goes).
create table api_idempotency_keys (
    idempotency_key text primary key,
    request_hash    text not null,
    -- null while the first request is still sending
    response        jsonb,
    created_at      timestamptz not null default now()
);
create index api_idempotency_keys_created_idx on api_idempotency_keys (created_at);
