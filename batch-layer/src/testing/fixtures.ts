/** Hand-made raw data for the batch layer's tests: rows written straight into a realtime database. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli } from '@lambdamart/cli-launch';
import { type Config, loadConfig, type Pool } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';

export interface TestDatabases {
  config: Config;
  rt: Pool;
  wh: Pool;
  rtUrl: string;
  whUrl: string;
  lakeDir: string;
}

/** A migrated realtime and a migrated warehouse database (both temporary) and a config pointing at them. */
export async function withBatchDatabases<T>(label: string, use: (dbs: TestDatabases) => Promise<T>): Promise<T> {
  return withTempDatabase(`${label}_rt`, (rtUrl) =>
    withTempDatabase(`${label}_wh`, async (whUrl) => {
      await migrateUp('realtime', rtUrl);
      await migrateUp('warehouse', whUrl);
      const lakeDir = await mkdtemp(join(tmpdir(), 'lambdamart-lake-'));
      const config = loadConfig({ REALTIME_DATABASE_URL: rtUrl, WAREHOUSE_DATABASE_URL: whUrl, LAKE_DIR: lakeDir, LOG_LEVEL: 'silent' });
      try {
        return await withPool(rtUrl, (rt) => withPool(whUrl, (wh) => use({ config, rt, wh, rtUrl, whUrl, lakeDir })));
      } finally {
        await rm(lakeDir, { recursive: true, force: true });
      }
    }),
  );
}

export async function addCatalog(rt: Pool, productId: string, at: string, attrs: { name?: string; category?: string; price: number }) {
  await rt.query(`insert into product_catalog_events (product_id, updated_at, name, category, price) values ($1, $2, $3, $4, $5)`, [
    productId,
    at,
    attrs.name ?? `Product ${productId}`,
    attrs.category ?? 'Sports',
    attrs.price,
  ]);
}

export interface TestOrder {
  id?: string;
  user: string;
  at: string;
  country?: string;
  lines: [productId: string, quantity: number, price: number][];
  ingestedAt?: string;
}

export async function addOrder(rt: Pool, order: TestOrder): Promise<string> {
  const id = order.id ?? randomUUID();
  const total = order.lines.reduce((sum, [, q, p]) => sum + q * Math.round(p * 100), 0) / 100;
  await rt.query(
    `insert into transactions (transaction_id, user_id, session_id, total_amount, currency, payment_method, country, transaction_timestamp, ingested_at)
     values ($1, $2, 's-' || $2, $3, 'USD', 'card', $4, $5, coalesce($6::timestamptz, now()))`,
    [id, order.user, total, order.country ?? 'US', order.at, order.ingestedAt ?? null],
  );
  for (const [i, [productId, quantity, price]] of order.lines.entries()) {
    await rt.query(`insert into transaction_items (transaction_id, line_number, product_id, quantity, price) values ($1, $2, $3, $4, $5)`, [
      id,
      i + 1,
      productId,
      quantity,
      price,
    ]);
  }
  return id;
}

export async function addView(rt: Pool, user: string, productId: string, at: string, country = 'US'): Promise<string> {
  const id = randomUUID();
  await rt.query(
    `insert into product_view_events (event_id, user_id, product_id, session_id, view_duration, country, event_timestamp)
     values ($1, $2, $3, 's-' || $2, 12, $4, $5)`,
    [id, user, productId, country, at],
  );
  return id;
}

export async function addCart(rt: Pool, user: string, productId: string, at: string, type: 'add' | 'remove' = 'add'): Promise<string> {
  const id = randomUUID();
  await rt.query(
    `insert into cart_events (event_id, event_type, user_id, product_id, session_id, quantity, price, country, event_timestamp)
     values ($1, $2, $3, $4, 's-' || $3, 1, 9.99, 'US', $5)`,
    [id, type, user, productId, at],
  );
  return id;
}

/** Every row of the warehouse's tables, without load-time columns: two equal snapshots = the same warehouse. */
export async function snapshotWarehouse(wh: Pool): Promise<Record<string, unknown[]>> {
  const tables: Record<string, string> = {
    dim_date: 'select * from dim_date order by date_id',
    dim_geography: 'select geography_id, country, region from dim_geography order by geography_id',
    dim_products:
      'select product_id_pk, product_id, name, category, price, effective_from, effective_to, is_current from dim_products order by product_id_pk',
    dim_customers: `select customer_id, user_id, country, customer_segment, first_transaction_date, last_transaction_date, total_transactions,
                      total_spent, avg_order_value, effective_from, effective_to, is_current from dim_customers order by customer_id`,
    fact_sales: 'select * from fact_sales order by event_id',
    fact_product_views: 'select * from fact_product_views order by event_id',
    fact_cart_events: 'select * from fact_cart_events order by event_id',
    product_performance: 'select * from product_performance order by analysis_date, product_id',
    rfm_analysis: 'select * from rfm_analysis order by analysis_date, user_id',
    customer_segments: 'select segment_name, customer_count, total_revenue, avg_order_value from customer_segments order by segment_name',
    sales_trends: 'select * from sales_trends order by period_type, period_value, category',
    etl_watermarks: 'select job_name, watermark from etl_watermarks order by job_name',
  };
  const snapshot: Record<string, unknown[]> = {};
  for (const [table, sql] of Object.entries(tables)) {
    snapshot[table] = (await wh.query(sql)).rows.map((row) => {
      const { created_at: _c, ...rest } = row as Record<string, unknown>;
      return rest;
    });
  }
  return snapshot;
}

/** `count` views of p1 by 5000 users from 2026-02-01, `secondsApart` apart: enough that loading them takes a while. */
export async function addManyViews(rt: Pool, count: number, secondsApart: number): Promise<void> {
  await rt.query(
    `insert into product_view_events (event_id, user_id, product_id, session_id, view_duration, country, event_timestamp)
     select gen_random_uuid(), 'u' || (n % 5000), 'p1', 's', 5, 'US', timestamptz '2026-02-01' + n * $2::int * interval '1 second'
     from generate_series(1, $1::int) n`,
    [count, secondsApart],
  );
}

/**
 * Runs `lambdamart <args>` on these databases in a child, kills it with SIGKILL `settleMs` after
 * `started` holds, and waits until the server has noticed the dead client and rolled its transaction back.
 */
export async function killBatchRun(
  { config, wh, rtUrl, whUrl }: TestDatabases,
  args: string[],
  started: { what: string; holds: () => Promise<boolean>; timeoutMs: number; settleMs?: number },
): Promise<void> {
  const child = spawnCli(args, {
    env: { ...process.env, REALTIME_DATABASE_URL: rtUrl, WAREHOUSE_DATABASE_URL: whUrl, LAKE_DIR: config.lakeDir, LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
  let running = false;
  for (let i = 0; i < started.timeoutMs / 50 && !running; i++) {
    await new Promise((r) => setTimeout(r, 50));
    running = await started.holds();
  }
  assert.ok(running, started.what);
  if (started.settleMs) await new Promise((r) => setTimeout(r, started.settleMs));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  for (let i = 0; i < 300; i++) {
    const { rows } = await wh.query(
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'lambdamart-batch'`,
    );
    if (rows[0]?.n === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}
