/**
 * CSV imports through the whole pipeline: import -> Kafka -> savers -> realtime database -> batch
 * jobs -> warehouse, on topics, databases and a lake of their own. What the analytics make of
 * them: historical purchases whose catalog has no dates sell under their products' categories
 * (not 'Unknown'), and an order-level file (customer, date, quantity, amount) gets RFM scores and
 * sales trends under the placeholder product's category.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJobs } from '@lambdamart/batch-layer';
import { type Config, createEventProducer, createLogger, loadConfig } from '@lambdamart/core';
import { type ImportOptions, importCsv, kafkaSink, planImport } from '@lambdamart/generators';
import { generatorTopicsWithSuffix } from '@lambdamart/generators/testing';
import { saverTopicsWithSuffix, startSavers } from '@lambdamart/speed-layer';
import { createTestTopics, deleteTestTopics, waitFor, withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';

describe('CSV imports end to end', { timeout: 240_000 }, () => {
  it('historical purchases with an undated catalog keep their categories; order-level rows get RFM and trends', async () => {
    await withTempDatabase('e2e_import_rt', (realtimeUrl) =>
      withTempDatabase('e2e_import_wh', async (warehouseUrl) => {
        await migrateUp('realtime', realtimeUrl);
        await migrateUp('warehouse', warehouseUrl);
        const dir = await mkdtemp(join(tmpdir(), 'lambdamart-e2e-import-'));
        const config: Config = loadConfig({
          ...process.env,
          REALTIME_DATABASE_URL: realtimeUrl,
          WAREHOUSE_DATABASE_URL: warehouseUrl,
          LAKE_DIR: join(dir, 'lake'),
          LOG_LEVEL: 'warn',
        });
        const renames = generatorTopicsWithSuffix(`e2e-import-${randomBytes(3).toString('hex')}`);
        const suffix = (Object.values(renames)[0] ?? '').slice((Object.keys(renames)[0] ?? '').length);
        const saverTopics = saverTopicsWithSuffix(suffix);
        await createTestTopics(config, [...Object.values(renames), saverTopics.deadLetters]);
        const logger = createLogger('e2e', 'warn');
        const producer = createEventProducer({ ...config.kafka, clientId: 'lambdamart-e2e-import', idempotent: true });
        await producer.connect();
        try {
          const sink = kafkaSink([producer], { topicFor: (t) => renames[t] ?? t });
          const importFile = async (name: string, text: string, extra: Partial<ImportOptions> = {}) => {
            const file = join(dir, name);
            await writeFile(file, text);
            return importCsv(await planImport(file, 'transactions'), sink, {
              type: 'transactions',
              rejectsFile: `${file}.rejects.csv`,
              ...extra,
            });
          };
          // 1. A supermarket's history of 2024 with its product list (no dates), and an order-level file.
          const products = join(dir, 'Products_list.csv');
          await writeFile(products, 'product_name,unit_price,category\nMilk,1.29,Dairy\nBread,2.49,Bakery\n');
          const purchases = await importFile(
            'Purchases.csv',
            [
              'supermarket,timestamp,customer_id,items_list,total_amount',
              '1,05/01/2024 10:15,cust_1,Milk;Bread,3.78',
              '2,06/02/2024 11:00,cust_2,Bread,2.49',
              '1,07/03/2024 12:00,cust_1,Milk,1.29',
            ].join('\n'),
            { productsFile: products },
          );
          const orders = await importFile(
            'orders.csv',
            ['customer_id,date,quantity,amount', 'o1,2024-01-10,3,10.00', 'o2,2024-02-11,1,5.50', 'o1,2024-03-12,2,8.00'].join('\n'),
          );
          assert.deepEqual([purchases.sent, purchases.catalogSent, orders.sent, orders.catalogSent], [3, 2, 3, 1]);

          // 2. The savers, then the batch jobs as of the end of March 2024.
          const savers = await startSavers(config, { group: `e2e-import${suffix}`, topics: saverTopics, metricsPort: 0, logger });
          try {
            await waitFor(
              'the savers to store the transactions and the catalog',
              () =>
                withPool(realtimeUrl, async (pool) => {
                  const { rows } = await pool.query<{ tx: number; catalog: number }>(
                    'select (select count(*) from transactions)::int as tx, (select count(*) from product_catalog_events)::int as catalog',
                  );
                  return rows[0] ?? { tx: 0, catalog: 0 };
                }),
              (c) => c.tx >= 6 && c.catalog >= 3,
            );
          } finally {
            await savers.stop();
          }
          await runJobs(config, 'all', { to: '2024-03-31', triggeredBy: 'test', logger });

          // 3. What the analytics show.
          await withPool(warehouseUrl, async (wh) => {
            const { rows: trends } = await wh.query(
              `select category, period_value, total_revenue::float as revenue, is_complete
               from sales_trends where period_type = 'month' order by category, period_value`,
            );
            assert.deepEqual(trends, [
              { category: 'Bakery', period_value: '2024-01', revenue: 2.49, is_complete: true },
              { category: 'Bakery', period_value: '2024-02', revenue: 2.49, is_complete: true },
              { category: 'Dairy', period_value: '2024-01', revenue: 1.29, is_complete: true },
              { category: 'Dairy', period_value: '2024-03', revenue: 1.29, is_complete: false },
              { category: 'Uncategorized', period_value: '2024-01', revenue: 10, is_complete: true },
              { category: 'Uncategorized', period_value: '2024-02', revenue: 5.5, is_complete: true },
              { category: 'Uncategorized', period_value: '2024-03', revenue: 8, is_complete: false },
            ]);
            const { rows: rfm } = await wh.query(
              `select user_id, frequency_count::int as orders, monetary_value::float as revenue
               from rfm_analysis where analysis_date = '2024-03-31' order by user_id`,
            );
            assert.deepEqual(rfm, [
              { user_id: 'cust_1', orders: 2, revenue: 5.07 },
              { user_id: 'cust_2', orders: 1, revenue: 2.49 },
              { user_id: 'o1', orders: 2, revenue: 18 },
              { user_id: 'o2', orders: 1, revenue: 5.5 },
            ]);
          });
        } finally {
          await producer.disconnect();
          await deleteTestTopics(config, [...Object.values(renames), saverTopics.deadLetters]);
          await rm(dir, { recursive: true, force: true });
        }
      }),
    );
  });
});
