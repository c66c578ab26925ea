/** Test fixtures: migrated temporary databases, raw rows written into them, an app on them. */
import { randomUUID } from 'node:crypto';
import { type Config, loadConfig, type Pool } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../app.ts';
import type { BuildAppOptions } from '../app-types.ts';

export interface ApiTestDatabases {
  config: Config;
  rt: Pool;
  wh: Pool;
  rtUrl: string;
  whUrl: string;
}

/** A migrated realtime and warehouse database (temporary) and a config on them; `env` adds variables. */
export async function withApiDatabases<T>(
  label: string,
  env: Record<string, string>,
  use: (dbs: ApiTestDatabases) => Promise<T>,
): Promise<T> {
  return withTempDatabase(`${label}_rt`, (rtUrl) =>
    withTempDatabase(`${label}_wh`, async (whUrl) => {
      await migrateUp('realtime', rtUrl);
      await migrateUp('warehouse', whUrl);
      const config = loadConfig({ REALTIME_DATABASE_URL: rtUrl, WAREHOUSE_DATABASE_URL: whUrl, LOG_LEVEL: 'silent', ...env });
      return withPool(rtUrl, (rt) => withPool(whUrl, (wh) => use({ config, rt, wh, rtUrl, whUrl })));
    }),
  );
}

export async function withApp<T>(options: BuildAppOptions, use: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const app = await buildApp(options);
  try {
    return await use(app);
  } finally {
    await app.close();
  }
}

export interface RawOrder {
  id?: string;
  user: string;
  at: string;
  country?: string;
  lines: [productId: string, quantity: number, price: number][];
  ingestedAt?: string;
}

/** A transaction and its lines, as the savers write them. */
export async function insertOrder(rt: Pool | { query: Pool['query'] }, order: RawOrder): Promise<string> {
  const id = order.id ?? randomUUID();
  const total = order.lines.reduce((sum, [, q, p]) => sum + q * Math.round(p * 100), 0) / 100;
  await rt.query(
    `insert into transactions (transaction_id, user_id, session_id, total_amount, currency, payment_method, country, transaction_timestamp, ingested_at)
     values ($1, $2, 's-' || $2, $3, 'USD', 'card', $4, $5, coalesce($6::timestamptz, now()))`,
    [id, order.user, total, order.country ?? 'US', order.at, order.ingestedAt ?? null],
  );
  for (const [i, [productId, quantity, price]] of order.lines.entries()) {
    await rt.query('insert into transaction_items (transaction_id, line_number, product_id, quantity, price) values ($1, $2, $3, $4, $5)', [
      id,
      i + 1,
      productId,
      quantity,
      price,
    ]);
  }
  return id;
}

export async function insertCatalog(rt: Pool, productId: string, at: string, category: string, price: number): Promise<void> {
  await rt.query('insert into product_catalog_events (product_id, updated_at, name, category, price) values ($1, $2, $3, $4, $5)', [
    productId,
    at,
    `Product ${productId}`,
    category,
    price,
  ]);
}

export const json = <T = Record<string, unknown>>(response: { body: string }): T => JSON.parse(response.body) as T;
