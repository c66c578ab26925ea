-- Realtime database: raw events as the speed layer saves them from Kafka.
-- Primary keys on event ids make re-delivery harmless (rule 1 of DESIGN.md): a saver inserts
-- with ON CONFLICT DO NOTHING. Every row keeps ingested_at, the time it was committed.
-- Money is numeric(12,2): exact cents, no float drift between the speed and batch views.

create table transactions (
    -- ids
    transaction_id        uuid primary key,
    user_id               text not null,
    session_id            text not null,
    -- numerics
    total_amount          numeric(12, 2) not null check (total_amount >= 0),
    currency              char(3) not null,
    payment_method        text not null,
    country               text not null,
    -- timestamps
    transaction_timestamp timestamptz not null,
    ingested_at           timestamptz not null default now()
);
create index transactions_timestamp_idx on transactions (transaction_timestamp);
create index transactions_user_idx on transactions (user_id);
-- The batch layer reads "what arrived since the last run" by ingestion time.
create index transactions_ingested_idx on transactions (ingested_at);

-- One row per transaction line: the grain of fact_sales.
create table transaction_items (
    transaction_id uuid not null references transactions (transaction_id) on delete cascade,
    line_number    smallint not null check (line_number >= 1),
    product_id     text not null,
    quantity       integer not null check (quantity >= 1),
    price          numeric(12, 2) not null check (price >= 0),
    primary key (transaction_id, line_number)
);
create index transaction_items_product_idx on transaction_items (product_id);

create table product_view_events (
    event_id        uuid primary key,
    user_id         text not null,
    product_id      text not null,
    session_id      text not null,
    view_duration   integer not null check (view_duration >= 0),
    country         text not null,
    event_timestamp timestamptz not null,
    ingested_at     timestamptz not null default now()
);
create index product_view_events_timestamp_idx on product_view_events (event_timestamp);
create index product_view_events_ingested_idx on product_view_events (ingested_at);

create table cart_events (
    event_id        uuid primary key,
    event_type      text not null check (event_type in ('add', 'remove')),
    user_id         text not null,
    product_id      text not null,
    session_id      text not null,
    quantity        integer not null check (quantity >= 1),
    price           numeric(12, 2) not null check (price >= 0),
    country         text not null,
    event_timestamp timestamptz not null,
    ingested_at     timestamptz not null default now()
);
create index cart_events_timestamp_idx on cart_events (event_timestamp);
create index cart_events_ingested_idx on cart_events (ingested_at);

-- Every catalog record ever received, append-only: the history dim_products (SCD2) is built from.
-- A record is identified by (product_id, updated_at), so a replayed record is ignored.
create table product_catalog_events (
    product_id  text not null,
    updated_at  timestamptz not null,
    name        text not null,
    category    text not null,
    price       numeric(12, 2) not null check (price >= 0),
    ingested_at timestamptz not null default now(),
    primary key (product_id, updated_at)
);
create index product_catalog_events_ingested_idx on product_catalog_events (ingested_at);

-- The current catalog: the newest record per product (an older record arriving late never wins).
create table products (
    product_id  text primary key,
    name        text not null,
    category    text not null,
    price       numeric(12, 2) not null check (price >= 0),
    updated_at  timestamptz not null,
    ingested_at timestamptz not null default now()
);
create index products_category_idx on products (category);

-- The savers' Kafka positions, written in the same transaction as the rows they cover:
-- after a crash the consumer seeks here, so a batch is saved exactly once.
create table consumer_offsets (
    group_id    text not null,
    topic       text not null,
    partition   integer not null,
    next_offset bigint not null check (next_offset >= 0),
    updated_at  timestamptz not null default now(),
    primary key (group_id, topic, partition)
);

-- Events that failed validation: never dropped, never blocking the stream.
create table dead_letters (
    dead_letter_id   bigint generated always as identity primary key,
    source_topic     text not null,
    source_partition integer not null,
    source_offset    bigint not null,
    message_key      text,
    reason           text not null,
    payload          text,
    ingested_at      timestamptz not null default now(),
    -- a redelivered bad message is recorded once
    unique (source_topic, source_partition, source_offset)
);
create index dead_letters_ingested_idx on dead_letters (ingested_at);

-- Speed view: per-minute aggregates by country and category, kept up to date by the savers in
-- the same transaction as the raw rows, so the API can answer "since the last batch" without
-- scanning raw events.
create table speed_minute_metrics (
    minute       timestamptz not null,
    country      text not null,
    category     text not null,
    revenue      numeric(14, 2) not null default 0,
    orders       bigint not null default 0,
    units        bigint not null default 0,
    views        bigint not null default 0,
    cart_adds    bigint not null default 0,
    cart_removes bigint not null default 0,
    primary key (minute, country, category)
);
