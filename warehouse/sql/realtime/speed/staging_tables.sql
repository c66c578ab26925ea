-- staging_tables: the per-session staging tables a saver COPYs a batch into (temp, emptied at every
-- commit by ON COMMIT DELETE ROWS, so a batch never sees another batch's rows). Run once per session,
-- before the move_* statements.
set time zone 'UTC';
-- Staging tables have no statistics, so the planner's costs look huge and would trigger JIT
-- compilation (20+ ms a statement) for a few thousand rows.
set jit = off;
create temp table if not exists stage_transactions (
  transaction_id uuid, user_id text, session_id text, total_amount numeric(12, 2), currency char(3),
  payment_method text, country text, transaction_timestamp timestamptz) on commit delete rows;
create temp table if not exists stage_transaction_items (
  transaction_id uuid, line_number smallint, product_id text, quantity integer, price numeric(12, 2)) on commit delete rows;
create temp table if not exists stage_product_views (
  event_id uuid, user_id text, product_id text, session_id text, view_duration integer, country text,
  event_timestamp timestamptz) on commit delete rows;
create temp table if not exists stage_cart_events (
  event_id uuid, event_type text, user_id text, product_id text, session_id text, quantity integer,
  price numeric(12, 2), country text, event_timestamp timestamptz) on commit delete rows;
create temp table if not exists stage_metrics (
  minute timestamptz, country text, category text, revenue numeric(14, 2) not null default 0, orders bigint not null default 0,
  units bigint not null default 0, views bigint not null default 0, cart_adds bigint not null default 0,
  cart_removes bigint not null default 0) on commit delete rows;
create temp table if not exists stage_catalog (
  product_id text, updated_at timestamptz, name text, category text, price numeric(12, 2)) on commit delete rows;
