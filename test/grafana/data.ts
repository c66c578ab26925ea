/**
 * Data for the dashboards' SQL checks: synthetic raw events written with SQL into a temporary
 * realtime database, event times over the year up to now (a slice in the last hour, for the real
 * time dashboard), a few dead letters and consumer offsets, then every batch job into a
 * temporary warehouse, as the scheduler would. Modelled on bench/src/batch-data.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JobReport, runJobs } from '@lambdamart/batch-layer';
import { type Config, loadConfig, type Pool, Topics } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';

const products = 2000;
const countries = `(array['US','GB','DE','FR','JP','BR','IN','CA'])`;
const categories = `(array['Electronics','Books','Home','Sports','Toys','Beauty'])`;

/**
 * Adds `count` events: 10% orders (1-4 lines), 70% views, 20% cart events; Zipf-ish users. Event
 * times spread over the last 365 days, `lastHourShare` of them (default 2%) in the last hour;
 * each saved a few seconds after it happened.
 */
export async function synthesiseEvents(rt: Pool, count: number, { lastHourShare = 0.02 } = {}): Promise<void> {
  const eventTime = `case when random() < ${lastHourShare} then now() - random() * interval '1 hour'
                          else now() - random() * interval '365 days' end`;
  const users = Math.max(1000, Math.round(count / 20));
  const orders = Math.round(count * 0.1);
  const views = Math.round(count * 0.7);
  const carts = count - orders - views;
  const user = `floor(${users} * power(random(), 3))::int`;
  const country = (u: string) => `${countries}[1 + (${u} + case when random() < 0.01 then 1 else 0 end) % 8]`;
  const product = `'p' || (1 + floor(${products} * power(random(), 2))::int)`;
  const ingested = (at: string) => `least(now(), ${at} + random() * interval '5 seconds')`;
  await rt.query('select setseed(0.42)');
  await rt.query(`
    insert into product_catalog_events (product_id, updated_at, name, category, price, ingested_at)
    select 'p' || p, now() - interval '400 days', 'Product ' || p, ${categories}[1 + p % 6], 5 + (p * 37 % 19500) / 100.0, now() - interval '400 days'
    from generate_series(1, ${products}) p`);
  // A fifth of the products change price during the year, a twentieth also change category.
  await rt.query(`
    insert into product_catalog_events (product_id, updated_at, name, category, price, ingested_at)
    select 'p' || p, now() - (p % 360) * interval '1 day', 'Product ' || p,
           ${categories}[1 + (p + case when p % 20 = 0 then 1 else 0 end) % 6], 6 + (p * 41 % 19500) / 100.0,
           now() - (p % 360) * interval '1 day'
    from generate_series(1, ${products}) p where p % 5 = 0`);
  await rt.query(`
    insert into products (product_id, name, category, price, updated_at, ingested_at)
    select distinct on (product_id) product_id, name, category, price, updated_at, ingested_at
    from product_catalog_events order by product_id, updated_at desc`);
  await rt.query(`
    create temp table synth_orders as
    select gen_random_uuid() as id, n, 'u' || u as user_id, ${country('u')} as country, ${eventTime} as at
    from (select n, ${user} as u from generate_series(1, ${orders}) n) numbered`);
  await rt.query(`
    create temp table synth_lines as
    select o.id, l as line_number, 'p' || (1 + (o.n * 7919 + l * 104729) % ${products}) as product_id,
           1 + (o.n + l) % 3 as quantity, ((o.n * 37 + l * 101) % 19500 + 500) / 100.0 as price
    from synth_orders o cross join lateral generate_series(1, 1 + o.n % 4) l`);
  await rt.query(`
    insert into transactions (transaction_id, user_id, session_id, total_amount, currency, payment_method, country, transaction_timestamp, ingested_at)
    select o.id, o.user_id, 's' || o.n, t.total, 'USD', 'card', o.country, o.at, ${ingested('o.at')}
    from synth_orders o join (select id, sum(quantity * price) as total from synth_lines group by id) t on t.id = o.id`);
  await rt.query(
    'insert into transaction_items (transaction_id, line_number, product_id, quantity, price) select id, line_number, product_id, quantity, price from synth_lines',
  );
  await rt.query('drop table synth_orders, synth_lines');
  await rt.query(`
    insert into product_view_events (event_id, user_id, product_id, session_id, view_duration, country, event_timestamp, ingested_at)
    select gen_random_uuid(), 'u' || u, ${product}, 's', (random() * 120)::int, ${country('u')}, at, ${ingested('at')}
    from (select ${user} as u, ${eventTime} as at from generate_series(1, ${views})) numbered`);
  await rt.query(`
    insert into cart_events (event_id, event_type, user_id, product_id, session_id, quantity, price, country, event_timestamp, ingested_at)
    select gen_random_uuid(), case when n % 4 = 0 then 'remove' else 'add' end, 'u' || u, ${product}, 's', 1 + n % 3,
           ((n * 37) % 19500 + 500) / 100.0, ${country('u')}, at, ${ingested('at')}
    from (select n, ${user} as u, ${eventTime} as at from generate_series(1, ${carts}) n) numbered`);
  // What the savers also write: a dead letter now and then, and their offsets.
  await rt.query(`
    insert into dead_letters (source_topic, source_partition, source_offset, message_key, reason, payload, ingested_at)
    select (array['${Topics.transactions.name}','${Topics.productViews.name}','${Topics.cartEvents.name}'])[1 + n % 3], n % 3, n,
           'u' || n, (array['total_amount does not match the lines','price: expected a number >= 0','not JSON'])[1 + n % 3],
           '{}', now() - n * interval '1 minute'
    from generate_series(1, 120) n`);
  await rt.query(`
    insert into consumer_offsets (group_id, topic, partition, next_offset, updated_at)
    select 'savers', topic, p, 1000 + p, now() - interval '2 seconds'
    from unnest(array['${Topics.transactions.name}','${Topics.productViews.name}','${Topics.cartEvents.name}','${Topics.productCatalog.name}']) topic,
         generate_series(0, 2) p`);
  await rt.query('vacuum analyze');
}

/** Every batch job over the realtime rows, as the scheduler runs them; a failing job fails the build. */
export async function buildWarehouse(config: Config, onJobFinished?: (report: JobReport) => void): Promise<void> {
  await runJobs(config, 'all', { triggeredBy: 'test', ...(onJobFinished ? { onJobFinished } : {}) });
}

export interface DashboardDatabases {
  config: Config;
  rt: Pool;
  wh: Pool;
}

/** A migrated realtime database and warehouse (temporary, dropped afterwards) and a config on them. */
export async function withDashboardDatabases<T>(label: string, use: (dbs: DashboardDatabases) => Promise<T>): Promise<T> {
  const lakeDir = await mkdtemp(join(tmpdir(), 'lambdamart-grafana-lake-'));
  try {
    return await withTempDatabase(`${label}_rt`, (rtUrl) =>
      withTempDatabase(`${label}_wh`, async (whUrl) => {
        await migrateUp('realtime', rtUrl);
        await migrateUp('warehouse', whUrl);
        const config = loadConfig({ REALTIME_DATABASE_URL: rtUrl, WAREHOUSE_DATABASE_URL: whUrl, LAKE_DIR: lakeDir, LOG_LEVEL: 'warn' });
        return withPool(rtUrl, (rt) => withPool(whUrl, (wh) => use({ config, rt, wh })));
      }),
    );
  } finally {
    await rm(lakeDir, { recursive: true, force: true });
  }
}
