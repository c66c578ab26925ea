/**
 * facts: fact_sales, fact_product_views, fact_cart_events from the raw rows since the watermark
 * (minus the lookback, so rows committed late are still seen), point-in-time joined to the
 * dimensions. A full refresh empties the facts and reloads the whole history in the same
 * transaction.
 */
import { loadModel } from '@lambdamart/warehouse';
import type { JobDefinition } from '../job.ts';
import { stageFullHistory } from '../rebuild.ts';
import { maxStagedIngestedAt, type StagedKind, stageRaw } from '../staging.ts';
import { extractWindow, nextWatermark } from '../window.ts';

const factTables = ['fact_sales', 'fact_product_views', 'fact_cart_events'] as const;
const stagedKinds: StagedKind[] = ['transactions', 'transactionItems', 'productViews', 'cartEvents'];

export const factsJob: JobDefinition = {
  name: 'facts',
  description: 'fact_sales, fact_product_views, fact_cart_events (incremental, point-in-time)',
  dependsOn: ['dimensions'],
  async run(ctx) {
    const { wh, rt, options } = ctx;
    const staged = options.fullRefresh
      ? await stageFullHistory(ctx, stagedKinds)
      : await stageRaw(rt, wh, stagedKinds, extractWindow(ctx.watermark, options));
    // A full refresh replaces every fact; a ranged run (--from/--to) only adds the rows of its
    // range that are missing (deleting them first would lose rows already purged from realtime).
    if (options.fullRefresh) await wh.query(`truncate ${factTables.join(', ')}`);
    // The conformed dimensions every fact row needs, in case the dimensions job saw another window.
    await wh.query(await loadModel('dim_date'));
    await wh.query(await loadModel('dim_geography'));
    await wh.query(
      `with dates as (
         select min((transaction_timestamp at time zone 'UTC')::date) as first, max((transaction_timestamp at time zone 'UTC')::date) as last from stg_transactions
         union all select min((event_timestamp at time zone 'UTC')::date), max((event_timestamp at time zone 'UTC')::date) from stg_product_views
         union all select min((event_timestamp at time zone 'UTC')::date), max((event_timestamp at time zone 'UTC')::date) from stg_cart_events)
       select ensure_month_partitions(fact, (select min(first) from dates), (select max(last) from dates))
       from unnest($1::text[]) as fact
       where (select min(first) from dates) is not null`,
      [factTables],
    );

    // Bulk point-in-time joins: hash or merge joins on the natural key. The planner otherwise
    // probes the SCD2 gist index row by row, which is ~100x slower on a large load.
    await wh.query('set local enable_nestloop = off');
    let rowsOut = 0;
    const loaded: Record<string, number> = {};
    for (const table of factTables) {
      const result = await wh.query(await loadModel(table));
      loaded[table] = result.rowCount ?? 0;
      rowsOut += loaded[table];
    }
    return {
      rowsIn: staged.transactionItems + staged.productViews + staged.cartEvents,
      rowsOut,
      watermark: nextWatermark(ctx.watermark, await maxStagedIngestedAt(wh, stagedKinds), options),
      details: loaded,
    };
  },
};
