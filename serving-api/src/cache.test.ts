import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResponseCache } from './cache.ts';

const later = <T>(value: T, ms = 20) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('ResponseCache', () => {
  it('computes concurrent misses of one key once (single flight), and stores the answer', async () => {
    const cache = new ResponseCache({ enabled: true });
    let computed = 0;
    const compute = () => {
      computed++;
      return later({ revenue: 42 });
    };
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.through('kpis', 1000, compute)));
    assert.equal(computed, 1, 'one query for twenty concurrent requests');
    assert.ok(answers.every((a) => a.entry.value.revenue === 42));
    assert.equal((await cache.through('kpis', 1000, compute)).hit, true);
    assert.equal(computed, 1);
  });

  it('a failed computation fails every waiter and is not kept: the next request tries again', async () => {
    const cache = new ResponseCache({ enabled: true });
    let calls = 0;
    const failing = async () => {
      calls++;
      await later(null);
      throw new Error('warehouse down');
    };
    const results = await Promise.allSettled([cache.through('k', 1000, failing), cache.through('k', 1000, failing)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal(calls, 1);
    assert.equal((await cache.through('k', 1000, async () => 'ok')).entry.value, 'ok');
  });

  it('a request after a batch notice does not join a computation that started before it', async () => {
    const cache = new ResponseCache({ enabled: true });
    const before = cache.through('k', 1000, () => later('old', 30));
    await later(null, 5);
    cache.clear();
    const after = await cache.through('k', 1000, () => later('new', 5));
    assert.equal(after.entry.value, 'new');
    assert.equal((await before).entry.value, 'old', 'the older request still gets its answer');
    assert.equal((await cache.through('k', 1000, async () => 'recomputed')).entry.value, 'new', 'only the newer answer was kept');
  });

  it('off: every request computes', async () => {
    const cache = new ResponseCache({ enabled: false });
    let computed = 0;
    await Promise.all([1, 2, 3].map(() => cache.through('k', 1000, async () => ++computed)));
    assert.equal(computed, 3);
  });
});
