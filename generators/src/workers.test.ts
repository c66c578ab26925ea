/**
 * The generator's worker threads change the speed, never the events: the same seed gives the same
 * JSON lines, in the same order, with 1 or 3 workers, and they are generateEvents's sequence.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '@lambdamart/core';
import { generateEvents, serializeEvent } from './generate.ts';
import { type RunGeneratorOptions, runGenerator } from './run.ts';
import { Shards, shardsOfWorker } from './shards.ts';
import { jsonLine } from './sinks.ts';
import { checkWorkers, defaultWorkers } from './workers.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const dir = mkdtempSync(join(tmpdir(), 'lambdamart-workers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const history: RunGeneratorOptions = {
  rate: 'max',
  seed: 5,
  start: Date.parse('2025-11-01T00:00:00Z'),
  days: 1,
  eventsPerDay: 15_000,
  badRate: 0.02,
};

async function toFile(options: RunGeneratorOptions, workers: number, name: string) {
  const out = join(dir, name);
  const summary = await runGenerator(config, { ...options, workers, out }, new AbortController().signal);
  return { summary, text: readFileSync(out, 'utf8') };
}

describe('generator workers', () => {
  it('write the same events in the same order with 1 or 3 workers: generateEvents, line for line', async () => {
    const one = await toFile(history, 1, 'one.jsonl');
    const three = await toFile(history, 3, 'three.jsonl');
    const expected = [...generateEvents(history)];
    assert.equal(one.text, expected.map((e) => jsonLine(e, serializeEvent(e))).join(''));
    assert.equal(three.text, one.text);
    assert.deepEqual({ ...three.summary, elapsedMs: 0, eventsPerSecond: 0 }, { ...one.summary, elapsedMs: 0, eventsPerSecond: 0 });
    assert.equal(one.summary.sent, expected.length);
    assert.equal(one.summary.stoppedBy, 'end');
    assert.equal(one.summary.invalidTotal + one.summary.unusualTotal, expected.filter((e) => e.bad !== undefined).length);
    assert.ok(one.summary.invalidTotal > 50 && one.summary.unusualTotal > 20, JSON.stringify(one.summary));
  });

  it('stop after exactly --count user events whatever their number', async () => {
    const live: RunGeneratorOptions = { rate: 'max', seed: 8, start: Date.parse('2026-01-01T00:00:00Z'), count: 3001 };
    const one = await toFile(live, 1, 'count-one.jsonl');
    const four = await toFile(live, 4, 'count-four.jsonl');
    assert.equal(four.text, one.text);
    const s = one.summary;
    assert.equal(s.byKind.view + s.byKind.cart + s.byKind.transaction, 3001);
    assert.equal(s.byKind.catalog, 500);
  });

  it('stop on the signal with everything they made written and counted', async () => {
    const controller = new AbortController();
    const out = join(dir, 'stopped.jsonl');
    // Stopped once events flow (starting two worker threads takes a second or two on a busy machine).
    const onProgress = (progress: { sent: number }) => {
      if (progress.sent > 500) controller.abort();
    };
    const summary = await runGenerator(config, { rate: 5000, seed: 9, workers: 2, out, onProgress }, controller.signal);
    assert.equal(summary.stoppedBy, 'signal');
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, summary.sent);
    assert.ok(summary.sent > 500, `${summary.sent} sent before the signal`);
  });

  it('give every shard to exactly one worker, and refuse a worker count outside 1..Shards in one line', () => {
    for (const workers of [1, 2, 3, 5, Shards]) {
      const all = Array.from({ length: workers }, (_, w) => shardsOfWorker(w, workers)).flat();
      assert.deepEqual(
        all.sort((a, b) => a - b),
        Array.from({ length: Shards }, (_, i) => i),
      );
    }
    assert.throws(() => checkWorkers(0), /--workers must be a whole number from 1 to 16/);
    assert.throws(() => checkWorkers(1.5), /--workers/);
    assert.throws(() => checkWorkers(Shards + 1), /--workers/);
    assert.equal(defaultWorkers(500), 1);
    assert.ok(defaultWorkers('max') >= 1 && defaultWorkers('max') <= Shards);
  });
});
