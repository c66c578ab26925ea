/** Synthetic raw history for bench:batch, written with SQL straight into a realtime database. */
import type { Pool } from '@lambdamart/core';

const products = 2000;
const users = 50_000;
const countries = `(array['US','GB','DE','FR','JP','BR','IN','CA'])`;

/** The history: event times spread over 2026-01-01 .. 2026-12-30. */
export const yearOfHistory = `timestamptz '2026-01-01' + (random() * 364 * 86400) * interval '1 second'`;

/** What an incremental run sees: the next day's events, 2% of them arriving up to a week late. */
export const nextDayWithLateEvents = `case when random() < 0.02
  then timestamptz '2026-12-24' + (random() * 7 * 86400) * interval '1 second'
  else timestamptz '2026-12-31' + (random() * 86400) * interval '1 second' end`;

/**
 * Adds `count` events: 10% orders (1-4 lines), 70% views, 20% cart events. Users are Zipf-ish
 * (a few buy a lot); each lives in one country, and 1% of their orders come from another (a move).
 * `eventTime` and `ingested` are SQL expressions evaluated per row.
 */
export async function synthesise(rt: Pool, count: number, options: { eventTime: string; ingested: string; offset: number }): Promise<void> {
  const { eventTime, ingested, offset } = options;
  const orders = Math.round(count * 0.1);
  const views = Math.round(count * 0.7);
  const carts = count - orders - views;
  const userNumber = `floor(${users} * power(random(), 3))::int`;
  const country = (u: string) => `${countries}[1 + (${u} + case when random() < 0.01 then 1 else 0 end) % 8]`;
  const product = `'p' || (1 + floor(${products} * power(random(), 2))::int)`;
  await rt.query('drop table if exists bench_orders');
  await rt.query(`
    create unlogged table bench_orders as
    select gen_random_uuid() as id, n, 'u' || u as user_id, ${country('u')} as country, ${eventTime} as at
    from (select n, ${userNumber} as u from generate_series(${offset}::bigint, ${offset + orders - 1}) n) numbered`);
  await rt.query('drop table if exists bench_lines');
  await rt.query(`
    create unlogged table bench_lines as
    select o.id, l as line_number, 'p' || (1 + (o.n * 7919 + l * 104729) % ${products}) as product_id,
           1 + (o.n + l) % 3 as quantity, ((o.n * 37 + l * 101) % 19500 + 500) / 100.0 as price
    from bench_orders o cross join lateral generate_series(1, 1 + o.n % 4) l`);
  await rt.query(`
    insert into transactions (transaction_id, user_id, session_id, total_amount, currency, payment_method, country, transaction_timestamp, ingested_at)
    select o.id, o.user_id, 's' || o.n, t.total, 'USD', 'card', o.country, o.at, ${ingested}
    from bench_orders o
    join (select id, sum(quantity * price) as total from bench_lines group by id) t on t.id = o.id`);
  await rt.query(`
    insert into transaction_items (transaction_id, line_number, product_id, quantity, price)
    select id, line_number, product_id, quantity, price from bench_lines`);
  await rt.query(`
    insert into product_view_events (event_id, user_id, product_id, session_id, view_duration, country, event_timestamp, ingested_at)
    select gen_random_uuid(), 'u' || u, ${product}, 's', (random() * 120)::int, ${country('u')}, ${eventTime}, ${ingested}
    from (select n, ${userNumber} as u from generate_series(1, ${views}) n) numbered`);
  await rt.query(`
    insert into cart_events (event_id, event_type, user_id, product_id, session_id, quantity, price, country, event_timestamp, ingested_at)
    select gen_random_uuid(), case when n % 4 = 0 then 'remove' else 'add' end, 'u' || u, ${product}, 's', 1 + n % 3,
           ((n * 37) % 19500 + 500) / 100.0, ${country('u')}, ${eventTime}, ${ingested}
    from (select n, ${userNumber} as u from generate_series(1, ${carts}) n) numbered`);
  await rt.query('drop table bench_orders, bench_lines');
}

/** 2,000 products; a fifth change price during the year, a twentieth also change category. */
export async function synthesiseCatalog(rt: Pool): Promise<void> {
  const categories = `(array['Electronics','Books','Home','Sports','Toys','Beauty'])`;
  await rt.query(`
    insert into product_catalog_events (product_id, updated_at, name, category, price, ingested_at)
    select 'p' || p, timestamptz '2025-12-01', 'Product ' || p, ${categories}[1 + p % 6], 5 + (p * 37 % 19500) / 100.0, now() - interval '2 days'
    from generate_series(1, ${products}) p`);
  await rt.query(`
    insert into product_catalog_events (product_id, updated_at, name, category, price, ingested_at)
    select 'p' || p, timestamptz '2026-01-01' + (p % 360) * interval '1 day', 'Product ' || p,
           ${categories}[1 + (p + case when p % 20 = 0 then 1 else 0 end) % 6], 6 + (p * 41 % 19500) / 100.0, now() - interval '2 days'
    from generate_series(1, ${products}) p where p % 5 = 0`);
}
