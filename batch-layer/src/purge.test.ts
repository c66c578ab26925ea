import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { purgeCutoff } from './purge.ts';

describe('purge cutoff', () => {
  const now = new Date('2026-11-21T12:00:00Z');

  it('nothing is purged before the first archive', () => {
    assert.equal(purgeCutoff(now, 30, null, 10), null);
  });

  it('old enough AND archived: the older of the two bounds', () => {
    assert.deepEqual(purgeCutoff(now, 30, new Date('2026-11-21T11:00:00Z'), 10), new Date('2026-10-22T12:00:00Z'));
    // An archive that lags behind: only what it covers, minus the lookback margin.
    assert.deepEqual(purgeCutoff(now, 30, new Date('2026-10-01T00:00:00Z'), 10), new Date('2026-09-30T23:50:00Z'));
  });
});
