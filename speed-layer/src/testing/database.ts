/** Polling the realtime database in tests and benchmarks. */
import type { Pool } from '@lambdamart/core';

export interface RealtimeCounts {
  transactions: number;
  items: number;
  views: number;
  carts: number;
  catalogEvents: number;
  products: number;
  deadLetters: number;
}

export async function realtimeCounts(pool: Pool): Promise<RealtimeCounts> {
  const { rows } = await pool.query<RealtimeCounts>(
    `select (select count(*) from transactions)::int as transactions,
            (select count(*) from transaction_items)::int as items,
            (select count(*) from product_view_events)::int as views,
            (select count(*) from cart_events)::int as carts,
            (select count(*) from product_catalog_events)::int as "catalogEvents",
            (select count(*) from products)::int as products,
            (select count(*) from dead_letters)::int as "deadLetters"`,
  );
  return rows[0] as RealtimeCounts;
}

/** Polls until `done` holds or the time is up; returns the last value either way. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && (done(value) || Date.now() > until)) return value;
    if (value === undefined && Date.now() > until) return read();
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
