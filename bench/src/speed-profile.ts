/**
 * `npm run bench:speed-profile`: where a saver's time goes, per event. Not a benchmark with a
 * baseline: the breakdown behind the README's "Where the savers' time goes".
 *
 *   1. node, in process: the bench:speed mix (60% views, 25% cart events, 15% transactions) through
 *      each step of the savers' pipeline on its own: UTF-8 decoding + JSON.parse, the contract
 *      validation, the storable check, the staging rows (COPY text); microseconds per event.
 *   2. PostgreSQL: the same events saved the way store.ts saves them (one transaction per partition
 *      batch of PROFILE_BATCH events into a fresh realtime database), each statement timed: lock of
 *      the stored offset, COPY into staging, the move (insert ... on conflict + stage_metrics), the
 *      offset, the speed view, the commit; then EXPLAIN (ANALYZE, BUFFERS) of one more batch's writes.
 *   3. `--cpu-prof`: a real saver (`lambdamart speed` under `node --cpu-prof`) drains a backlog on
 *      topics of its own; its profile's self time summed by where it is spent (kafkajs, zod, pg, ...).
 *
 * Run it under the bench lock: `flock /work/wt/bench.lock npm run bench:speed-profile [-- --cpu-prof]`.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createPool, type EventKind, fastValidEvent, loadConfig, type OutgoingMessage, type PoolClient } from '@lambdamart/core';
import type { SaverTopics } from '@lambdamart/speed-layer';
import {
  catalogRecord,
  createSaverTopics,
  deleteSaverTopics,
  messagesOf,
  mixedEvent,
  PRODUCT_COUNT,
  randomSuffix,
  sendAll,
  withProducer,
} from '@lambdamart/speed-layer/testing';
import { withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import { from as copyFrom } from 'pg-copy-streams';
import { stagingRows } from '../../speed-layer/src/batch.ts';
import { loadSaverSql } from '../../speed-layer/src/saver-sql.ts';
import { checkStorableStep, fitsTheTables } from '../../speed-layer/src/steps/check-storable-step.ts';
import { prepareEvent, slowPrepare } from '../../speed-layer/src/steps/index.ts';
import { parseJsonStep } from '../../speed-layer/src/steps/parse-json-step.ts';
import { validateContractStep } from '../../speed-layer/src/steps/validate-contract-step.ts';

const env = process.env;
const EVENTS = Number(env.PROFILE_EVENTS ?? 300_000);
const BATCH = Number(env.PROFILE_BATCH ?? 15_000);
const { values: args } = parseArgs({
  options: { 'cpu-prof': { type: 'boolean', default: false }, 'cpu-prof-only': { type: 'boolean', default: false } },
});
const config = loadConfig({ ...env, LOG_LEVEL: 'warn' });
const log = (line: string) => process.stderr.write(`[bench:speed-profile] ${line}\n`);
const out = (line: string) => process.stdout.write(`${line}\n`);

type Topic = 'productViews' | 'cartEvents' | 'transactions';
const KIND: Record<Topic, EventKind> = { productViews: 'view', cartEvents: 'cart', transactions: 'transaction' };
const MOVE = { view: 'move_product_views', cart: 'move_cart_events', transaction: 'move_transactions' } as const;

function byKind(count: number, from = 0): Map<EventKind, Buffer[]> {
  const kinds = new Map<EventKind, Buffer[]>();
  for (let i = from; i < from + count; i++) {
    const { topic, event } = mixedEvent(i);
    const kind = KIND[topic];
    const list = kinds.get(kind) ?? [];
    kinds.set(kind, list);
    list.push(Buffer.from(JSON.stringify(event)));
  }
  return kinds;
}

/** Best of 3 runs of `fn` over every kind's events, in microseconds per event of the whole mix. */
function timeStep(kinds: Map<EventKind, Buffer[]>, total: number, fn: (kind: EventKind, raws: Buffer[]) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    for (const [kind, raws] of kinds) fn(kind, raws);
    best = Math.min(best, ((performance.now() - t0) * 1000) / total);
  }
  return best;
}

function nodeSteps(): Record<string, number> {
  const count = Math.min(EVENTS, 200_000);
  const kinds = byKind(count);
  const parsed = new Map([...kinds].map(([kind, raws]) => [kind, raws.map((r) => (parseJsonStep(r) as { value: unknown }).value)]));
  const valid = new Map(
    [...parsed].map(([kind, values]) => [kind, values.map((v) => (validateContractStep(kind, v) as { value: unknown }).value)]),
  );
  const steps = {
    'UTF-8 decoding + JSON.parse': timeStep(kinds, count, (_kind, raws) => {
      for (const raw of raws) parseJsonStep(raw);
    }),
    'contract validation, zod (validateContractStep)': timeStep(kinds, count, (kind) => {
      for (const value of parsed.get(kind) ?? []) validateContractStep(kind, value);
    }),
    'contract validation, compiled (fastValidEvent)': timeStep(kinds, count, (kind) => {
      for (const value of parsed.get(kind) ?? []) fastValidEvent(kind, value);
    }),
    'storable check (storageProblem)': timeStep(kinds, count, (kind) => {
      for (const value of valid.get(kind) ?? []) checkStorableStep(kind, value as never);
    }),
    'storable check, compiled (fitsTheTables)': timeStep(kinds, count, (kind) => {
      for (const value of valid.get(kind) ?? []) fitsTheTables(kind, value as never);
    }),
    'staging rows (COPY text)': timeStep(kinds, count, (kind) => {
      const events = valid.get(kind) ?? [];
      for (let i = 0; i < events.length; i += BATCH) stagingRows(kind, events.slice(i, i + BATCH));
    }),
    'the old pipeline (parse, zod, storageProblem) + rows': timeStep(kinds, count, (kind, raws) => {
      for (let i = 0; i < raws.length; i += BATCH) {
        const values: unknown[] = [];
        for (const raw of raws.slice(i, i + BATCH)) {
          const json = parseJsonStep(raw);
          const r = json.ok ? slowPrepare(kind, json.value) : json;
          if (r.ok) values.push(r.value);
        }
        stagingRows(kind, values);
      }
    }),
    'the whole pipeline (prepareEvent + rows)': timeStep(kinds, count, (kind, raws) => {
      for (let i = 0; i < raws.length; i += BATCH) {
        const values: unknown[] = [];
        for (const raw of raws.slice(i, i + BATCH)) {
          const r = prepareEvent(kind, raw);
          if (r.ok) values.push(r.value);
        }
        stagingRows(kind, values);
      }
    }),
  };
  return steps;
}

async function copyInto(client: PoolClient, table: string, text: string): Promise<void> {
  const stream = client.query(copyFrom(`copy ${table} from stdin`));
  await new Promise<void>((res, rej) => {
    stream.on('finish', res);
    stream.on('error', rej);
    stream.end(text);
  });
}

async function postgresSteps(): Promise<{ perEvent: Record<string, number>; explain: string[] }> {
  const sql = await loadSaverSql();
  return withTempDatabase('profile', async (url) => {
    await migrateUp('realtime', url);
    const pool = createPool(url, { max: 1, application: 'lambdamart-profile' });
    const client = await pool.connect();
    try {
      await client.query(sql.staging_tables);
      const catalog = Array.from({ length: PRODUCT_COUNT }, (_, i) => catalogRecord(i));
      await client.query('begin');
      await copyInto(client, 'stage_catalog', stagingRows('catalog', catalog).tables.stage_catalog ?? '');
      await client.query(sql.move_catalog);
      await client.query('commit');
      const totals: Record<string, number> = {};
      const add = (step: string, ms: number) => {
        totals[step] = (totals[step] ?? 0) + ms;
      };
      const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
        const t0 = performance.now();
        try {
          return await fn();
        } finally {
          add(step, performance.now() - t0);
        }
      };
      const offsets = new Map<string, number>();
      let saved = 0;
      for (let from = 0; from < EVENTS; from += BATCH) {
        const kinds = byKind(Math.min(BATCH, EVENTS - from), from);
        for (const [kind, raws] of kinds) {
          const values = raws.map((r) => (prepareEvent(kind, r) as { value: unknown }).value);
          const staged = stagingRows(kind, values);
          const key = ['profile', kind, 0];
          await timed('begin + lock stored offset', async () => {
            await client.query('begin');
            await client.query(sql.lock_stored_offset, key);
          });
          await timed('COPY into staging', async () => {
            for (const [table, text] of Object.entries(staged.tables)) if (text) await copyInto(client, table, text);
          });
          await timed('insert ... on conflict (rows, indexes, stage_metrics)', () => client.query(sql[MOVE[kind as keyof typeof MOVE]]));
          const before = offsets.get(kind);
          const next = (before ?? 0) + values.length;
          await timed('stored offset', () =>
            before === undefined
              ? client.query(sql.insert_stored_offset, [...key, next])
              : client.query(sql.advance_stored_offset, [...key, next, before]),
          );
          offsets.set(kind, next);
          await timed('speed view (add_speed_minute_metrics)', () => client.query(sql.add_speed_minute_metrics));
          await timed('commit', () => client.query('commit'));
          saved += values.length;
        }
      }
      const perEvent = Object.fromEntries(Object.entries(totals).map(([step, ms]) => [step, (ms * 1000) / saved]));
      // One more batch of each kind, explained (EXPLAIN ANALYZE runs the writes; rolled back).
      const explain: string[] = [];
      const kinds = byKind(BATCH, EVENTS);
      for (const [kind, raws] of kinds) {
        const staged = stagingRows(
          kind,
          raws.map((r) => (prepareEvent(kind, r) as { value: unknown }).value),
        );
        await client.query('begin');
        const t0 = performance.now();
        for (const [table, text] of Object.entries(staged.tables)) if (text) await copyInto(client, table, text);
        explain.push(`-- ${kind}: ${staged.events} events, COPY into staging ${(performance.now() - t0).toFixed(1)} ms`);
        for (const [what, text] of [
          ['move', sql[MOVE[kind as keyof typeof MOVE]]],
          ['speed view', sql.add_speed_minute_metrics],
          ['offset', sql.advance_stored_offset],
        ] as const) {
          const params = what === 'offset' ? ['profile', kind, 0, (offsets.get(kind) ?? 0) + staged.events, offsets.get(kind) ?? 0] : [];
          const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers, costs off) ${text}`, params);
          explain.push(`-- ${kind} ${what}`, ...rows.map((r) => r['QUERY PLAN']));
        }
        const t1 = performance.now();
        await client.query('commit');
        explain.push(`-- ${kind} commit ${(performance.now() - t1).toFixed(1)} ms`);
      }
      return { perEvent, explain };
    } finally {
      client.release();
      await pool.end();
    }
  });
}

/** Self time of a CPU profile summed by where it is spent. */
function summarizeProfile(file: string): [string, number][] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const totals = new Map<string, number>();
  const functions = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    const url = frame?.url ?? '';
    const name = frame?.functionName ?? '';
    const where =
      name === '(idle)'
        ? 'idle'
        : name === '(garbage collector)'
          ? 'garbage collector'
          : url.includes('/kafkajs/')
            ? 'kafkajs (fetch, decoding, snappy)'
            : url.includes('/zod/')
              ? 'zod (contract validation)'
              : /\/(pg|pg-protocol|pg-copy-streams|pg-pool|pg-types)\//.test(url)
                ? 'pg client (protocol, COPY stream)'
                : url.includes('/pino')
                  ? 'logging'
                  : url.includes('speed-layer/src')
                    ? `speed-layer ${url.replace(/.*speed-layer\/src\//, '')}`
                    : url.includes('core/src')
                      ? `core ${url.replace(/.*core\/src\//, '')}`
                      : url === ''
                        ? `native ${name || '(program)'}`
                        : url.startsWith('node:')
                          ? `node ${url.slice(5)}`
                          : 'other';
    totals.set(where, (totals.get(where) ?? 0) + us);
    const fn = `${name || '(anonymous)'} ${url.replace(/.*node_modules\//, '').replace(/.*\/src\//, '')}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  });
  const busy = [...totals].filter(([k]) => k !== 'idle').reduce((s, [, v]) => s + v, 0);
  const top = [...functions].sort((a, b) => b[1] - a[1]).slice(0, 25);
  out('\nsaver CPU profile, self time by place (share of the busy time):');
  for (const [where, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    out(`  ${where.padEnd(48)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${where === 'idle' ? '' : `${((100 * us) / busy).toFixed(1)}%`}`);
  }
  out('top functions by self time:');
  for (const [fn, us] of top) out(`  ${(us / 1000).toFixed(0).padStart(7)} ms  ${fn}`);
  return [...totals];
}

async function cpuProfile(): Promise<void> {
  const suffix = randomSuffix('profile');
  const topics = await createSaverTopics(config, suffix);
  const dir = await mkdtemp(join(tmpdir(), 'saver-profile-'));
  try {
    await withProducer(config, async (producer) => {
      await sendAll(
        producer,
        topics.productCatalog,
        messagesOf(
          Array.from({ length: PRODUCT_COUNT }, (_, i) => catalogRecord(i)),
          'product_id',
        ),
      );
      for (let from = 0; from < EVENTS; from += 20_000) {
        const byTopic: Partial<Record<Topic, OutgoingMessage[]>> = {};
        for (let i = from; i < Math.min(EVENTS, from + 20_000); i++) {
          const { topic, event } = mixedEvent(i);
          const list = byTopic[topic] ?? [];
          byTopic[topic] = list;
          list.push({ key: (event as { user_id: string }).user_id, value: JSON.stringify(event) });
        }
        await Promise.all(Object.entries(byTopic).map(([t, m]) => sendAll(producer, topics[t as keyof SaverTopics], m, 5_000)));
      }
    });
    log(`produced ${EVENTS} events; a saver drains them under --cpu-prof`);
    await withTempDatabase('profile_cpu', async (url) => {
      await migrateUp('realtime', url);
      const main = resolve(import.meta.dirname, '..', '..', 'cli', 'src', 'main.ts');
      const child = spawn(
        process.execPath,
        [
          '--cpu-prof',
          `--cpu-prof-dir=${dir}`,
          '--import',
          'tsx',
          main,
          'speed',
          '--group',
          'profile',
          '--topic-suffix',
          suffix,
          '--metrics-port',
          '0',
        ],
        { env: { ...env, REALTIME_DATABASE_URL: url, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] },
      );
      const exited = new Promise((r) => child.once('exit', r));
      const pool = createPool(url, { max: 1, application: 'lambdamart-profile' });
      const expected = EVENTS + PRODUCT_COUNT;
      const t0 = performance.now();
      let first = 0;
      for (;;) {
        const { rows } = await pool
          .query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets')
          .catch(() => ({ rows: [{ n: 0 }] }));
        const n = rows[0]?.n ?? 0;
        if (n > 0 && first === 0) first = performance.now();
        if (n >= expected || performance.now() - t0 > 300_000) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      log(`drained in ${((performance.now() - first) / 1000).toFixed(1)} s from the first commit`);
      await pool.end();
      child.kill('SIGTERM');
      await exited;
    });
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file) summarizeProfile(join(dir, file));
    out(`(profile kept in ${dir}${file ? `/${file}` : ''})`);
  } finally {
    await deleteSaverTopics(config, topics);
  }
}

if (!args['cpu-prof-only']) {
  out(`node steps, microseconds per event of the bench:speed mix (best of 3, ${Math.min(EVENTS, 200_000)} events):`);
  for (const [step, us] of Object.entries(nodeSteps())) out(`  ${step.padEnd(56)} ${us.toFixed(2).padStart(7)} us`);
  const pg = await postgresSteps();
  out(`\nPostgreSQL, microseconds per event (${EVENTS} events into a fresh database, batches of ${BATCH} per kind):`);
  for (const [step, us] of Object.entries(pg.perEvent)) out(`  ${step.padEnd(56)} ${us.toFixed(2).padStart(7)} us`);
  out('\nEXPLAIN (ANALYZE, BUFFERS) of one more batch of each kind:');
  for (const line of pg.explain) out(line);
}
if (args['cpu-prof'] || args['cpu-prof-only']) await cpuProfile();
