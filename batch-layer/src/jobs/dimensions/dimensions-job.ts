/**
 * dimensions: dim_date and dim_geography (grow only), dim_products and dim_customers (SCD2).
 * Products change with the catalog records since this job's watermark; customers with the orders
 * since it that customer_orders (the orders the dimension has counted) does not hold yet. The
 * job keeps its own record of orders, so a customer counts every order once, whatever the facts
 * job loaded, and a full refresh gives the dimension an incremental run would.
 */
import type { PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import type { JobContext, JobDefinition } from '../../runner/job.ts';
import { stageFullHistory } from '../../shared/full-history.ts';
import { maxStagedIngestedAt, type StagedKind, stageRaw } from '../../shared/staging.ts';
import { extractWindow, nextWatermark } from '../../shared/window.ts';
import { dimCustomers, dimProducts, mergeScd2, type Scd2Dimension, type Scd2MergeResult, withIndexesRebuilt } from './scd2.ts';

const stagedKinds: StagedKind[] = ['catalogEvents', 'transactions'];

export const dimensionsJob: JobDefinition = {
  name: 'dimensions',
  description: 'dim_date, dim_geography, dim_products and dim_customers (SCD2)',
  dependsOn: [],
  async run(ctx) {
    const { wh, options } = ctx;
    const fullRefresh = Boolean(options.fullRefresh);
    // Short statements: compiling them (JIT) never pays, and took 1.2 s for one at 5M events
    // when the planner overestimated its rows.
    await wh.query('set local jit = off');
    const staged = fullRefresh ? await stageFullHistory(ctx, stagedKinds) : await stageIncrement(ctx);

    await wh.query(await loadModel('dim_date'));
    await wh.query(await loadModel('dim_geography'));

    const products = await mergeScd2(wh, dimProducts, await desiredVersions(wh, dimProducts, fullRefresh));
    await stageNewOrders(wh, ctx.watermark, fullRefresh);
    const customers = await mergeScd2(wh, dimCustomers, await desiredVersions(wh, dimCustomers, fullRefresh));
    await recordNewOrders(wh, fullRefresh);
    await recordOrdersLoadedAhead(wh, ctx.watermark, options);

    await analyzeIfMoved(wh, 'dim_products', products);
    await analyzeIfMoved(wh, 'dim_customers', customers);
    await wh.query('analyze dim_date, dim_geography');

    const changed = (r: Scd2MergeResult) => r.inserted + r.updated + r.deleted;
    return {
      rowsIn: staged.catalogEvents + staged.transactions,
      rowsOut: changed(products) + changed(customers),
      watermark: nextWatermark(ctx.watermark, await maxStagedIngestedAt(wh, stagedKinds), options),
      details: { products, customers },
    };
  },
};

/** The rows since the watermark: the catalog whatever the range (a product needs all its records). */
async function stageIncrement(ctx: JobContext): Promise<{ catalogEvents: number; transactions: number }> {
  const { wh, rt, watermark, options } = ctx;
  const catalog = await stageRaw(rt, wh, ['catalogEvents'], extractWindow(watermark, { ...options, from: undefined, to: undefined }));
  const orders = await stageRaw(rt, wh, ['transactions'], extractWindow(watermark, options));
  return { catalogEvents: catalog.catalogEvents, transactions: orders.transactions };
}

/**
 * new_customer_orders: the staged orders customer_orders does not hold; on a full refresh, which
 * empties customer_orders, every staged order. An order ingested after the watermark (the newest
 * ingestion an earlier run saw, to the millisecond) and after every order a ranged run loaded
 * ahead of it is new for sure: only the others (the lookback, a ranged run) are looked up.
 */
async function stageNewOrders(wh: PoolClient, watermark: Date | null, fullRefresh: boolean): Promise<void> {
  const columns = 't.user_id, t.transaction_timestamp, t.transaction_id, t.country, t.total_amount as amount, t.ingested_at';
  if (fullRefresh) await wh.query('truncate customer_orders');
  const query = fullRefresh
    ? `select ${columns} from stg_transactions t`
    : `select ${columns} from stg_transactions t where t.ingested_at > $1
       union all
       select ${columns} from stg_transactions t
       where t.ingested_at <= $1
         and not exists (
           select 1 from customer_orders o
           where o.user_id = t.user_id and o.transaction_timestamp = t.transaction_timestamp
             and o.transaction_id = t.transaction_id
         )`;
  const seen = watermark ? Math.max(watermark.getTime(), (await ordersLoadedAhead(wh))?.getTime() ?? 0) : null;
  const surelyNewAfter = seen === null ? 'infinity' : new Date(seen + 1).toISOString();
  await wh.query(`create temp table new_customer_orders on commit drop as ${query}`, fullRefresh ? [] : [surelyNewAfter]);
  // The incremental model plans its look-ups by customer with these (a full refresh reads all).
  if (!fullRefresh) await wh.query('analyze new_customer_orders (user_id)');
}

/**
 * Adds new_customer_orders to customer_orders; a full refresh (which emptied it) builds its key
 * afterwards (500,000 orders: 1.0 s for the key instead of 1.8 s of index insertions).
 */
async function recordNewOrders(wh: PoolClient, fullRefresh: boolean): Promise<void> {
  const insert = () =>
    wh.query(
      `insert into customer_orders (user_id, transaction_timestamp, transaction_id, country, amount)
       select user_id, transaction_timestamp, transaction_id, country, amount from new_customer_orders
       order by user_id collate "C", transaction_timestamp, transaction_id`,
    );
  await (fullRefresh ? withIndexesRebuilt(wh, 'customer_orders', insert) : insert());
}

async function ordersLoadedAhead(wh: PoolClient): Promise<Date | null> {
  const { rows } = await wh.query<{ at: Date | null }>(`select loaded_ahead_until as at from etl_watermarks where job_name = 'dimensions'`);
  return rows[0]?.at ?? null;
}

/**
 * A ranged run leaves the watermark alone but records orders ingested after it: it notes the
 * newest, so the next runs look those up instead of counting them again. (Without a watermark
 * the next run looks every order up; a full refresh loads everything up to its watermark.)
 */
async function recordOrdersLoadedAhead(wh: PoolClient, watermark: Date | null, options: JobContext['options']): Promise<void> {
  if (options.fullRefresh) {
    await wh.query(`update etl_watermarks set loaded_ahead_until = null where job_name = 'dimensions'`);
  } else if ((options.from || options.to) && watermark) {
    await wh.query(
      `update etl_watermarks
       set loaded_ahead_until = greatest(loaded_ahead_until, (select max(ingested_at) from new_customer_orders where ingested_at > $1))
       where job_name = 'dimensions'`,
      [watermark],
    );
  }
}

/** The temp table `desired_<dimension>` of the versions model `<dimension>_versions`. */
async function desiredVersions(wh: PoolClient, dim: Scd2Dimension, fullRefresh: boolean): Promise<string> {
  const desired = `desired_${dim.table}`;
  const model = await loadModel(`${dim.table}_versions`, { full_refresh: fullRefresh });
  await wh.query(`create temp table ${desired} on commit drop as ${model}`);
  return desired;
}

/**
 * The facts job joins the dimensions next: fresh statistics when a dimension moved by more than a
 * tenth (a small change leaves the plans as they are, and the statistics to autovacuum).
 */
async function analyzeIfMoved(wh: PoolClient, table: string, merged: Scd2MergeResult): Promise<void> {
  const { rows } = await wh.query<{ tuples: number }>('select reltuples::float8 as tuples from pg_class where oid = $1::regclass', [table]);
  const tuples = rows[0]?.tuples ?? -1;
  if (tuples < 0 || merged.inserted + merged.deleted > tuples / 10) await wh.query(`analyze ${table}`);
}
