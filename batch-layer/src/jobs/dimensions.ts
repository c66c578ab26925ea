/**
 * dimensions: dim_date and dim_geography (grow only), dim_products and dim_customers (SCD2).
 * Products change with catalog records since this job's watermark; customers with the orders
 * since the facts watermark (fact_sales holds everything before it).
 */
import { loadModel } from '@lambdamart/warehouse';
import type { JobDefinition } from '../job.ts';
import { stageFullHistory } from '../rebuild.ts';
import { dimCustomers, dimProducts, mergeScd2 } from '../scd2.ts';
import { maxStagedIngestedAt, stageRaw } from '../staging.ts';
import { extractWindow, nextWatermark } from '../window.ts';

export const dimensionsJob: JobDefinition = {
  name: 'dimensions',
  description: 'dim_date, dim_geography, dim_products and dim_customers (SCD2)',
  dependsOn: [],
  async run(ctx) {
    const { wh, rt, options } = ctx;
    const catalogWindow = extractWindow(ctx.watermark, { ...options, from: undefined, to: undefined });
    const ordersWindow = extractWindow(await ctx.watermarkOf('facts'), options);
    const full = options.fullRefresh ? await stageFullHistory(ctx, ['catalogEvents', 'transactions']) : null;
    const catalog = full ?? (await stageRaw(rt, wh, ['catalogEvents'], catalogWindow));
    const orders = full ?? (await stageRaw(rt, wh, ['transactions'], ordersWindow));

    await wh.query(await loadModel('dim_date'));
    await wh.query(await loadModel('dim_geography'));

    const fullRefresh = Boolean(options.fullRefresh);
    await wh.query(
      `create temp table desired_dim_products on commit drop as ${await loadModel('dim_products_versions', { full_refresh: fullRefresh })}`,
    );
    const products = await mergeScd2(wh, dimProducts, 'desired_dim_products');
    await wh.query(`create temp table desired_dim_customers on commit drop as ${await loadModel('dim_customers_versions')}`);
    const customers = await mergeScd2(wh, dimCustomers, 'desired_dim_customers');

    // The facts job joins these next, in this transaction: give the planner their new sizes.
    await wh.query('analyze dim_products, dim_customers, dim_date, dim_geography');

    const changed = (r: typeof products) => r.inserted + r.updated + r.deleted;
    return {
      rowsIn: catalog.catalogEvents + orders.transactions,
      rowsOut: changed(products) + changed(customers),
      watermark: nextWatermark(ctx.watermark, await maxStagedIngestedAt(wh, ['catalogEvents']), {}),
      details: { products, customers },
    };
  },
};
