/**
 * The generator's catalog across runs, through the pipeline: a second run that starts where a
 * first one ended re-sends each product's current version, not its base record, so the speed
 * layer's `products` keeps the prices the first run left and `dim_products` gets no version that
 * undoes them. Topics, consumer group and databases of its own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJobs } from '@lambdamart/batch-layer';
import { type CatalogRecord, type Config, createLogger, loadConfig } from '@lambdamart/core';
import { generateEvents, generatorOptionsFor, type RunGeneratorOptions, runGenerator } from '@lambdamart/generators';
import { generatorTopicsWithSuffix } from '@lambdamart/generators/testing';
import { saverTopicsWithSuffix, startSavers } from '@lambdamart/speed-layer';
import { createTestTopics, deleteTestTopics, withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';

const catalogOf = (options: RunGeneratorOptions): CatalogRecord[] =>
  [...generateEvents(generatorOptionsFor(options))].flatMap((e) => (e.kind === 'catalog' ? [e.event] : []));

describe('the generator catalog across runs, end to end', { timeout: 240_000 }, () => {
  it("a second run keeps the first run's price changes in products and dim_products", async () => {
    await withTempDatabase('e2e_catalog_rt', (realtimeUrl) =>
      withTempDatabase('e2e_catalog_wh', async (warehouseUrl) => {
        await migrateUp('realtime', realtimeUrl);
        await migrateUp('warehouse', warehouseUrl);
        const lakeDir = await mkdtemp(join(tmpdir(), 'lambdamart-e2e-catalog-'));
        const config: Config = loadConfig({
          ...process.env,
          REALTIME_DATABASE_URL: realtimeUrl,
          WAREHOUSE_DATABASE_URL: warehouseUrl,
          LAKE_DIR: lakeDir,
          LOG_LEVEL: 'warn',
        });
        const renames = generatorTopicsWithSuffix(`e2e-catalog-${randomBytes(3).toString('hex')}`);
        const suffix = (Object.values(renames)[0] ?? '').slice((Object.keys(renames)[0] ?? '').length);
        const saverTopics = saverTopicsWithSuffix(suffix);
        await createTestTopics(config, [...Object.values(renames), saverTopics.deadLetters]);
        const logger = createLogger('e2e', 'warn');
        try {
          const day = 86_400_000;
          const firstStart = Date.parse('2026-09-01T00:00:00Z');
          const run = (start: number, days: number): RunGeneratorOptions => ({
            rate: 'max',
            seed: 11,
            start,
            days,
            eventsPerDay: 5000,
            topicFor: (topic) => renames[topic] ?? topic,
            logger,
          });
          const first = run(firstStart, 4);
          const second = run(firstStart + 4 * day, 2);
          await runGenerator(config, first, new AbortController().signal);
          await runGenerator(config, second, new AbortController().signal);

          // What the catalog must be: the first run's last version of each product, then the second
          // run's changes (those after its start); its first records change nothing.
          const expected = new Map<string, CatalogRecord>();
          const secondStart = second.start as number;
          for (const r of [...catalogOf(first), ...catalogOf(second).filter((r) => Date.parse(r.updated_at) > secondStart)]) {
            const held = expected.get(r.product_id);
            if (!held || Date.parse(r.updated_at) >= Date.parse(held.updated_at)) expected.set(r.product_id, r);
          }
          const changedByFirst = [...expected.values()].filter((r) => Date.parse(r.updated_at) > firstStart).length;
          assert.ok(changedByFirst >= 5, `${changedByFirst} products changed by the runs`);
          const distinctRecords = new Set([...catalogOf(first), ...catalogOf(second)].map((r) => `${r.product_id}@${r.updated_at}`)).size;

          const savers = await startSavers(config, { group: `e2e-catalog${suffix}`, topics: saverTopics, metricsPort: 0, logger });
          try {
            await withPool(realtimeUrl, async (rt) => {
              const deadline = Date.now() + 60_000;
              for (;;) {
                const { rows } = await rt.query<{ n: number }>('select count(*)::int as n from product_catalog_events');
                if ((rows[0]?.n ?? 0) >= distinctRecords) break;
                if (Date.now() > deadline) assert.fail(`catalog records saved: ${rows[0]?.n} of ${distinctRecords}`);
                await new Promise((resolve) => setTimeout(resolve, 250));
              }
            });
          } finally {
            await savers.stop();
          }
          const asRows = (records: Iterable<CatalogRecord>) =>
            [...records]
              .map((r) => ({ product_id: r.product_id, category: r.category, price: r.price }))
              .sort((a, b) => a.product_id.localeCompare(b.product_id));

          const products = await withPool(
            realtimeUrl,
            async (rt) => (await rt.query('select product_id, category, price::float as price from products order by product_id')).rows,
          );
          assert.deepEqual(products, asRows(expected.values()), "the speed layer's current catalog");

          await runJobs(config, ['dimensions'], { triggeredBy: 'test', logger });
          await withPool(warehouseUrl, async (wh) => {
            const current = await wh.query(
              'select product_id, category, price::float as price from dim_products where is_current and product_id_pk <> -1 order by product_id',
            );
            assert.deepEqual(current.rows, asRows(expected.values()), 'the current dim_products versions');
            const atSecondStart = await wh.query<{ n: number }>('select count(*)::int as n from dim_products where effective_from = $1', [
              new Date(secondStart).toISOString(),
            ]);
            assert.equal(atSecondStart.rows[0]?.n, 0, 'no version begins where the second run began');
          });
        } finally {
          await deleteTestTopics(config, [...Object.values(renames), saverTopics.deadLetters]);
          await rm(lakeDir, { recursive: true, force: true });
        }
      }),
    );
  });
});
