import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BlockedPartition, nextBlockedEntry } from './blocked-partitions.ts';

const failure = { topic: 'views', partition: 1, cause: 'postgres', code: 'LM_ERR_SPEED_POSTGRES_REFUSED', reason: 'no' } as const;
const mid = () => 0.5;

describe('blocked partitions', () => {
  it('the first failure waits a second; each next one twice as long, up to a minute, since the first', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const first = nextBlockedEntry(undefined, failure, now, mid);
    assert.deepEqual(first, {
      entry: { ...failure, since: '2026-01-01T00:00:00.000Z', attempts: 1, retryAt: '2026-01-01T00:00:01.000Z' },
      wait: 1_000,
    });
    let previous: BlockedPartition = { ...first.entry, timer: undefined };
    const waits = [first.wait];
    for (let i = 0; i < 8; i++) {
      const next = nextBlockedEntry(previous, { ...failure, reason: `no ${i}` }, now + 1_000 * (i + 1), mid);
      assert.equal(next.entry.since, '2026-01-01T00:00:00.000Z', 'blocked since the first failure');
      assert.equal(next.entry.reason, `no ${i}`, 'the latest reason');
      previous = { ...next.entry, timer: undefined };
      waits.push(next.wait);
    }
    assert.deepEqual(waits, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    assert.equal(previous.attempts, 9);
  });
});
