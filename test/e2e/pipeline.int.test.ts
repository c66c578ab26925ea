/**
 * The whole pipeline, counted: generator -> Kafka -> savers -> realtime database -> batch jobs ->
 * warehouse. Its own topics, consumer group, databases and lake, so it runs beside anything else.
 * The run is deterministic (a seed and a fixed start), so the test replays the same events without
 * Kafka and classifies each with core's contract: the realtime database must hold exactly the
 * distinct valid event ids, the dead letters exactly the invalid events, and the warehouse one fact
 * per realtime event.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runJobs } from '@lambdamart/batch-layer';
import { type Config, createLogger, type EventKind, loadConfig, parseEvent } from '@lambdamart/core';
import { generateEvents, generatorOptionsFor, type RunGeneratorOptions, runGenerator, serializeEvent } from '@lambdamart/generators';
import { generatorTopicsWithSuffix } from '@lambdamart/generators/testing';
import { saverTopicsWithSuffix, startSavers } from '@lambdamart/speed-layer';
import { createTestTopics, deleteTestTopics, waitFor, withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';

const idOf = (kind: EventKind, event: Record<string, unknown>) => String(kind === 'transaction' ? event.transaction_id : event.event_id);

/** What the pipeline must end with for these generator options: distinct valid ids, and invalid events. */
function expectedOutcome(options: RunGeneratorOptions): { sent: number; rows: number; deadLetters: number } {
  const valid = new Set<string>();
  let sent = 0;
  let deadLetters = 0;
  for (const generated of generateEvents(generatorOptionsFor(options))) {
    if (generated.kind === 'catalog') continue;
    sent++;
    const parsed = parseEvent(generated.kind, serializeEvent(generated));
    if (parsed.ok) valid.add(`${generated.kind}:${idOf(generated.kind, parsed.value as Record<string, unknown>)}`);
    else deadLetters++;
  }
  return { sent, rows: valid.size, deadLetters };
}

describe('the pipeline end to end', { timeout: 300_000 }, () => {
  it('counts every event through Kafka, the realtime database and the warehouse', async () => {
    await withTempDatabase('e2e_rt', (realtimeUrl) =>
      withTempDatabase('e2e_wh', async (warehouseUrl) => {
        await migrateUp('realtime', realtimeUrl);
        await migrateUp('warehouse', warehouseUrl);
        const lakeDir = await mkdtemp(join(tmpdir(), 'lambdamart-e2e-lake-'));
        const config: Config = loadConfig({
          ...process.env,
          REALTIME_DATABASE_URL: realtimeUrl,
          WAREHOUSE_DATABASE_URL: warehouseUrl,
          LAKE_DIR: lakeDir,
        });
        const label = `e2e-${randomBytes(3).toString('hex')}`;
        const renames = generatorTopicsWithSuffix(label);
        const suffix = (Object.values(renames)[0] ?? '').slice((Object.keys(renames)[0] ?? '').length);
        const saverTopics = saverTopicsWithSuffix(suffix);
        await createTestTopics(config, [...Object.values(renames), saverTopics.deadLetters]);
        const logger = createLogger('e2e', 'warn');
        try {
          // 1. The generator: a day of seeded history with some deliberately bad events.
          const options: RunGeneratorOptions = {
            rate: 'max',
            seed: 7,
            start: Date.parse('2026-10-01T00:00:00Z'),
            days: 1,
            eventsPerDay: 3000,
            badRate: 0.03,
            topicFor: (topic) => renames[topic] ?? topic,
            logger,
          };
          const expected = expectedOutcome(options);
          const summary = await runGenerator(config, options, new AbortController().signal);
          const sent = summary.byKind.transaction + summary.byKind.view + summary.byKind.cart;
          assert.equal(sent, expected.sent, 'Kafka acknowledged every user event');
          assert.ok(summary.byKind.transaction > 0 && expected.deadLetters > 0, 'purchases and bad events are part of the run');

          // 2. The speed layer: each valid event once, each invalid one in the dead letters.
          const savers = await startSavers(config, { group: `e2e-${label}`, topics: saverTopics, metricsPort: 0, logger });
          let realtime = { events: 0, dead: 0 };
          try {
            realtime = await waitFor(
              'the savers to account for every event',
              () =>
                withPool(realtimeUrl, async (pool) => {
                  const { rows } = await pool.query<{ events: number; dead: number }>(
                    `select (select count(*) from transactions) + (select count(*) from product_view_events)
                          + (select count(*) from cart_events) as events,
                            (select count(*) from dead_letters) as dead`,
                  );
                  return rows[0] ?? { events: 0, dead: 0 };
                }),
              (c) => c.events >= expected.rows && c.dead >= expected.deadLetters,
              90_000,
            );
          } finally {
            await savers.stop();
          }
          assert.deepEqual(realtime, { events: expected.rows, dead: expected.deadLetters }, 'nothing lost, nothing counted twice');

          // 3. The batch layer builds the warehouse: one fact per realtime event.
          await runJobs(config, 'all', { triggeredBy: 'test', logger });
          const facts = await withPool(warehouseUrl, async (pool) => {
            const { rows } = await pool.query<{ facts: number; failed: number }>(
              `select (select count(distinct transaction_id) from fact_sales) + (select count(*) from fact_product_views)
                    + (select count(*) from fact_cart_events) as facts,
                      (select count(*) from job_runs where status <> 'succeeded') as failed`,
            );
            return rows[0];
          });
          assert.equal(facts?.failed, 0, 'every batch job succeeded');
          assert.equal(facts?.facts, realtime.events, 'every realtime event is one fact in the warehouse');
        } finally {
          await deleteTestTopics(config, [...Object.values(renames), saverTopics.deadLetters]);
          await rm(lakeDir, { recursive: true, force: true });
        }
      }),
    );
  });
});
