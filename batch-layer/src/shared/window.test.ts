import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planJobs, UnknownJobError } from '../runner/plan.ts';
import { extractWindow, nextDay, nextWatermark } from './window.ts';

describe('extract window and watermark', () => {
  const wm = new Date('2026-05-01T10:00:00.000Z');

  it('an incremental run looks back from the watermark', () => {
    assert.deepEqual(extractWindow(wm, { lookbackMinutes: 10 }), {
      since: '2026-05-01T09:50:00.000Z',
      until: 'infinity',
      fromTs: '-infinity',
      toTs: 'infinity',
    });
  });

  it('a first run, a full refresh and a ranged run read everything (of their range)', () => {
    assert.equal(extractWindow(null, {}).since, '-infinity');
    assert.equal(extractWindow(wm, { fullRefresh: true }).since, '-infinity');
    assert.deepEqual(extractWindow(wm, { from: '2026-01-01', to: '2026-01-31' }), {
      since: '-infinity',
      until: 'infinity',
      fromTs: '2026-01-01T00:00:00Z',
      toTs: '2026-02-01T00:00:00Z',
    });
    assert.equal(nextDay('2026-12-31'), '2027-01-01');
  });

  it('the watermark never moves back, and a ranged run leaves it alone', () => {
    const later = new Date('2026-05-01T11:00:00Z');
    assert.equal(nextWatermark(wm, later, {}), later);
    assert.equal(nextWatermark(later, wm, {}), undefined);
    assert.equal(nextWatermark(wm, null, {}), undefined);
    assert.equal(nextWatermark(null, wm, {}), wm);
    assert.equal(nextWatermark(wm, later, { to: '2026-05-01' }), undefined);
  });

  it('jobs run in dependency order whatever order they are named in', () => {
    assert.deepEqual(
      planJobs(['quality', 'dimensions']).map((j) => j.name),
      ['dimensions', 'quality'],
    );
    assert.equal(planJobs('all').length, 5);
    assert.throws(() => planJobs(['nope']), UnknownJobError);
  });
});
