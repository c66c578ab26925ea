import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rateCap } from './rate-cap.ts';

describe("the savers' rate cap", () => {
  it('holds the average at the cap: 15,000 events in batches of 700 at 10,000/s take about half a second (the first 10,000 are in the bucket)', async () => {
    const cap = rateCap(10_000);
    const started = performance.now();
    for (let taken = 0; taken < 15_000; taken += 700) await cap(700);
    const seconds = (performance.now() - started) / 1000;
    // The bucket starts full (10,000), the remaining ~5,400 come at 10,000/s.
    assert.ok(seconds > 0.45 && seconds < 1.5, `${seconds.toFixed(2)} s`);
  });

  it("a batch larger than one second's worth waits for a full bucket and leaves it in debt", async () => {
    let clock = 0;
    const cap = rateCap(1_000, () => clock);
    await cap(3_000); // a full bucket: taken at once, 2,000 in debt
    const waiting = cap(500);
    let done = false;
    void waiting.then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(done, false, 'in debt: waits');
    clock = 2_500; // 2.5 s later: 2,500 refilled, 500 in the bucket
    await waiting;
    assert.equal(done, true);
  });

  it('an abort ends the wait at once', async () => {
    const cap = rateCap(10, () => 0);
    await cap(10);
    const stop = new AbortController();
    const waiting = cap(10, stop.signal);
    stop.abort();
    await waiting;
  });
});
