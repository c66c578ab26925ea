-- sales_daily: the batch view's sales per UTC day, for the serving API's /kpis and /sales, which
-- otherwise scan every fact line of their range (a year at 5 million events: 1.25 million lines,
-- about 1.3 s). The facts job refreshes it in the transaction that publishes the facts
-- (warehouse/sql/warehouse/sales_daily_refresh.sql), so the facts and the aggregate a reader sees
-- in one snapshot always agree; the API uses it only when sales_daily_state says it reflects the
-- facts watermark of that snapshot, and reads the lines otherwise.
--
-- Distinct customers over a range cannot be added up from daily counts. Each customer gets a
-- dense number (sales_customer_keys), and each day keeps the set of its customers as a bit
-- string, bit k set when customer k ordered: the customers of a range are bit_count(bit_or(...))
-- over its days, exact, and a year is 365 bit strings of a few kB (about 5 ms at 50,000 customers).
-- Every bit string has the same length (sales_daily_state.customer_bits), since bit_or needs it.
--
-- The grain is the day (country null) and the day per country: the country of an order never
-- changes once loaded. Category and segment are left out on purpose: the dimensions job re-points
-- loaded facts to other product and customer versions (late catalog records, replayed customer
-- histories), outside the facts job, so a daily figure by category or segment could go stale.

create table sales_customer_keys (
    user_id      text primary key,
    customer_key integer not null unique check (customer_key >= 0)
);

create table sales_daily (
    event_date date not null,
    -- null: every country (the day's total)
    country    text,
    -- numerics: the lines' total_amount and quantity; orders counts each transaction once
    revenue    numeric(16, 2) not null,
    orders     bigint not null,
    units      bigint not null,
    -- bit k set: the customer with customer_key k ordered that day (in that country)
    customers  varbit not null,
    constraint sales_daily_key unique nulls not distinct (event_date, country)
);

-- One row once the facts job has built the aggregate; absent, or a watermark other than the
-- facts', means the aggregate does not describe the facts: readers use the lines, and the next
-- facts run rebuilds it whole.
create table sales_daily_state (
    only_row         boolean primary key default true check (only_row),
    facts_watermark  timestamptz,
    customer_bits    integer not null check (customer_bits > 0),
    refreshed_by_run bigint not null,
    refreshed_at     timestamptz not null default now()
);
