/** Admission to a database: bounded concurrency, a bounded queue, a bounded wait; then 503 overloaded. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admission } from './admission.ts';
import { ResponseCache } from './cache.ts';
import { ApiError } from './errors.ts';

const isOverloaded = (error: unknown) =>
  error instanceof ApiError && error.statusCode === 503 && error.code === 'LM_ERR_API_OVERLOADED' && error.headers?.['retry-after'] === '1';

describe('admission', () => {
  it('runs at most `slots` at once, queues the next in order, and sheds beyond the queue', async () => {
    const admission = new Admission('warehouse', { slots: 2, queue: 1, waitMs: 5_000 });
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const order: number[] = [];
    const held = [1, 2].map((n) =>
      admission.run(async () => {
        await gate;
        order.push(n);
      }),
    );
    const queued = admission.run(async () => order.push(3));
    assert.deepEqual(admission.load, { running: 2, waiting: 1 });
    await assert.rejects(
      admission.run(async () => 4),
      isOverloaded,
    );
    release();
    await Promise.all([...held, queued]);
    assert.deepEqual(order, [1, 2, 3]);
    assert.deepEqual(admission.load, { running: 0, waiting: 0 });
  });

  it('gives up a wait longer than waitMs with 503 overloaded', async () => {
    const admission = new Admission('realtime', { slots: 1, queue: 5, waitMs: 50 });
    let release = () => {};
    const held = admission.run(() => new Promise<void>((r) => (release = r)));
    await assert.rejects(
      admission.run(async () => 1),
      isOverloaded,
    );
    assert.deepEqual(admission.load, { running: 1, waiting: 0 });
    release();
    await held;
    assert.equal(await admission.run(async () => 2), 2);
  });
});

describe('cache size', () => {
  it('keeps entries up to a size in bytes, dropping the least recent', async () => {
    const cache = new ResponseCache({ enabled: true, maxBytes: 100_000 });
    const big = 'x'.repeat(10_000);
    for (let i = 0; i < 10; i++) await cache.through(`k${i}`, 60_000, async () => ({ big }));
    assert.ok(cache.size < 10 && cache.size >= 1, `kept ${cache.size}`);
    assert.equal((await cache.through('k9', 60_000, async () => ({ big: 'recomputed' }))).hit, true);
  });
});
