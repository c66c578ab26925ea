import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config, Pool } from '@lambdamart/core';
import { addCart, addCatalog, addOrder, addView, snapshotWarehouse, withBatchDatabases } from '../testing/fixtures.ts';
import { runJobs } from './runner.ts';

/** One run of the dimensions and facts jobs, as the CLI's `batch run` would start it. */
type Run = { kind: 'incremental' } | { kind: 'full' } | { kind: 'ranged'; from: string; to: string };

const incremental: Run = { kind: 'incremental' };
const full: Run = { kind: 'full' };
const ranged = (from: string, to: string): Run => ({ kind: 'ranged', from, to });

async function run(config: Config, step: Run): Promise<void> {
  const options =
    step.kind === 'full'
      ? { fullRefresh: true }
      : step.kind === 'ranged'
        ? { from: step.from, to: step.to }
        : ({} as Record<string, never>);
  await runJobs(config, ['dimensions', 'facts'], { ...options, triggeredBy: 'test' });
}

/** A day of events: orders (two customers, two countries), views, carts, a price change. */
async function addDay(rt: Pool, day: string, n: number, ingestedAt?: string): Promise<void> {
  await addCatalog(rt, 'p1', `${day}T00:00:00Z`, { price: 10 + n });
  await addOrder(rt, { user: 'u1', at: `${day}T09:00:00Z`, country: n % 2 ? 'US' : 'CA', lines: [['p1', 1, 90]], ingestedAt });
  await addOrder(rt, { user: 'u2', at: `${day}T10:00:00Z`, lines: [['p2', 2, 150]], ingestedAt });
  await addOrder(rt, { user: `u${3 + n}`, at: `${day}T11:00:00Z`, country: 'DE', lines: [['p1', 1, 5]], ingestedAt });
  await addView(rt, 'u1', 'p1', `${day}T08:00:00Z`);
  await addCart(rt, 'u2', 'p2', `${day}T09:30:00Z`);
}

/**
 * The warehouse the runs left equals the one a full refresh of the same data gives (a full
 * refresh keeps the surrogate keys of the versions that did not change, so any other difference
 * shows).
 */
async function assertSameAsFullRefresh(config: Config, wh: Pool, what: string): Promise<void> {
  const after = await snapshotWarehouse(wh);
  await run(config, full);
  assert.deepEqual(after, await snapshotWarehouse(wh), `${what}: the same warehouse as a full refresh`);
}

describe('ranged, incremental and full runs in any order give the warehouse of one full refresh', () => {
  it('incremental, a day of new events, ranged over it, incremental', async () => {
    await withBatchDatabases('rng_a', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p2', '2025-01-01T00:00:00Z', { price: 150 });
      await addDay(rt, '2026-03-09', 0);
      await run(config, incremental);
      await addDay(rt, '2026-03-10', 1);
      await addDay(rt, '2026-03-11', 2);
      await run(config, ranged('2026-03-10', '2026-03-10'));
      await run(config, incremental);
      await assertSameAsFullRefresh(config, wh, 'ranged between incremental runs');
      await addDay(rt, '2026-03-12', 3);
      await run(config, incremental);
      await assertSameAsFullRefresh(config, wh, 'and one more day');
    });
  });

  it('ranged twice, and ranged before any incremental run', async () => {
    await withBatchDatabases('rng_b', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p2', '2025-01-01T00:00:00Z', { price: 150 });
      await addDay(rt, '2026-03-09', 0);
      await addDay(rt, '2026-03-10', 1);
      await run(config, ranged('2026-03-10', '2026-03-11'));
      await run(config, ranged('2026-03-10', '2026-03-11'));
      await run(config, ranged('2026-03-09', '2026-03-09'));
      await run(config, incremental);
      await assertSameAsFullRefresh(config, wh, 'ranged before incremental');
      await addDay(rt, '2026-03-11', 2);
      await run(config, ranged('2026-03-11', '2026-03-11'));
      await run(config, ranged('2026-03-01', '2026-03-31'));
      await run(config, incremental);
      await run(config, incremental);
      await assertSameAsFullRefresh(config, wh, 'ranged twice, then incremental twice');
    });
  });

  it('a range covering late events: an old event time, and a row committed behind the watermark', async () => {
    await withBatchDatabases('rng_c', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p2', '2025-01-01T00:00:00Z', { price: 150 });
      await addDay(rt, '2026-03-10', 0);
      await run(config, incremental);
      const { rows } = await wh.query<{ w: Date }>(`select watermark as w from etl_watermarks where job_name = 'dimensions'`);
      const behind = new Date((rows[0]?.w ?? new Date()).getTime() - 60_000).toISOString();
      await addDay(rt, '2026-02-01', 1);
      await addDay(rt, '2026-02-02', 2, behind);
      await addDay(rt, '2026-03-11', 3);
      await run(config, ranged('2026-02-01', '2026-02-02'));
      await run(config, full);
      await run(config, ranged('2026-02-01', '2026-03-11'));
      await addDay(rt, '2026-02-03', 4);
      await run(config, incremental);
      await assertSameAsFullRefresh(config, wh, 'late events in a range');
    });
  });

  it('archive to analytics: a ranged run (the analytics "as of" date) between scheduled runs fails none of them', async () => {
    // (quality is left out: its expectedIdsPerMonth can fail on a plan that parses every
    // pg_class name as a month, whatever the runs; reported to its owner.)
    const jobs = ['archive', 'dimensions', 'facts', 'analytics'];
    await withBatchDatabases('rng_all', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p2', '2025-01-01T00:00:00Z', { price: 150 });
      await addDay(rt, '2026-03-09', 0);
      await runJobs(config, jobs, { triggeredBy: 'test' });
      await addDay(rt, '2026-03-10', 1);
      await addDay(rt, '2026-03-11', 2);
      await runJobs(config, jobs, { from: '2026-03-10', to: '2026-03-11', triggeredBy: 'test' });
      await runJobs(config, jobs, { to: '2026-03-10', triggeredBy: 'test' });
      await addDay(rt, '2026-03-12', 3);
      const reports = await runJobs(config, jobs, { triggeredBy: 'test' });
      assert.deepEqual(
        reports.map((r) => [r.job, r.status]),
        jobs.map((job) => [job, 'succeeded']),
      );
      const { rows } = await wh.query(`select count(*)::int as n from job_runs where status <> 'succeeded'`);
      assert.equal(rows[0]?.n, 0, 'no job failed or was skipped');
      await assertSameAsFullRefresh(config, wh, 'after every job');
    });
  });

  it('property: random sequences of new events and ranged, incremental and full runs, then an incremental run', async () => {
    for (const seed of [11, 23, 47]) {
      await withBatchDatabases(`rng_p${seed}`, async ({ config, rt, wh }) => {
        const random = mulberry32(seed);
        const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
        const day = () => `2026-03-${String(1 + Math.floor(random() * 9)).padStart(2, '0')}`;
        const steps: string[] = [];
        await addCatalog(rt, 'p2', '2025-01-01T00:00:00Z', { price: 150 });
        for (let i = 0; i < 12; i++) {
          const action = pick(['events', 'events', 'incremental', 'ranged', 'ranged', 'full'] as const);
          if (action === 'events') {
            // Orders of a few customers (countries and spend that move them between versions),
            // some ingested behind the watermark, and a price change.
            const { rows } = await wh.query<{ w: Date }>(`select min(watermark) as w from etl_watermarks`);
            const behind = rows[0]?.w && random() < 0.3 ? new Date(rows[0].w.getTime() - 60_000).toISOString() : undefined;
            for (let n = 0; n < 3; n++) {
              const at = `${day()}T${String(Math.floor(random() * 24)).padStart(2, '0')}:00:00Z`;
              const lines: [string, number, number][] = [[pick(['p1', 'p2']), 1 + Math.floor(random() * 3), pick([20, 90, 400])]];
              await addOrder(rt, { user: pick(['u1', 'u2', 'u3']), at, country: pick(['US', 'CA', 'DE']), lines, ingestedAt: behind });
              await addView(rt, pick(['u1', 'u2', 'u4']), 'p1', at, pick(['US', 'FR']));
            }
            await addCatalog(rt, 'p1', `${day()}T06:00:00Z`, { price: pick([10, 11, 12]) });
            steps.push(behind ? 'events (late)' : 'events');
          } else if (action === 'ranged') {
            const [from, to] = [day(), day()].sort() as [string, string];
            await run(config, ranged(from, to));
            steps.push(`ranged ${from}..${to}`);
          } else {
            await run(config, action === 'full' ? full : incremental);
            steps.push(action);
          }
        }
        await run(config, incremental);
        await assertSameAsFullRefresh(config, wh, `seed ${seed}: ${steps.join(', ')}, incremental`);
      });
    }
  });
});

/** A small seeded generator: the same seed gives the same sequence of runs. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
