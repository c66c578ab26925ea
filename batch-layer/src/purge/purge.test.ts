import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oldestWatermark, PurgeRefusedError, purgeCutoff } from './purge.ts';

describe('purge cutoff', () => {
  const now = new Date('2026-11-21T12:00:00Z');

  it('nothing is purged before the first archive and load', () => {
    assert.equal(purgeCutoff(now, 30, null, 10), null);
  });

  it('old enough AND archived and loaded: the older of the two bounds', () => {
    assert.deepEqual(purgeCutoff(now, 30, new Date('2026-11-21T11:00:00Z'), 10), new Date('2026-10-22T12:00:00Z'));
    // A job that lags behind: only what it covers, minus the lookback margin.
    assert.deepEqual(purgeCutoff(now, 30, new Date('2026-10-01T00:00:00Z'), 10), new Date('2026-09-30T23:50:00Z'));
  });

  it('refuses an age under one day: 0d would purge what the next runs still read', () => {
    assert.throws(() => purgeCutoff(now, 0, new Date('2026-11-21T11:00:00Z'), 10), PurgeRefusedError);
    assert.throws(() => purgeCutoff(now, -3, null, 10), /at least 1d/);
  });

  it('the watermark that counts is the oldest of archive, dimensions and facts; none while one is missing', () => {
    const archive = new Date('2026-11-21T11:00:00Z');
    const dimensions = new Date('2026-11-20T11:00:00Z');
    const facts = new Date('2026-11-19T11:00:00Z');
    assert.deepEqual(oldestWatermark({ archive, dimensions, facts }), facts);
    assert.deepEqual(oldestWatermark({ archive: facts, dimensions, facts: archive }), facts);
    assert.equal(oldestWatermark({ archive, dimensions }), null, 'facts never loaded');
    assert.equal(oldestWatermark({ archive, dimensions: null, facts }), null);
  });
});
