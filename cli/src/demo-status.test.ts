import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { saverVerdict } from './demo-status.ts';

const at = (s: number) => s * 1000;

describe("the demo's verdict on the savers", () => {
  it('keeping up: the lag stays small while events are saved', () => {
    const v = saverVerdict(
      { lag: 200, saved: 1000, at: at(0) },
      { lag: 300, saved: 11_000, at: at(10) },
      { healthy: true, state: 'consuming' },
      null,
    );
    assert.equal(v.state, 'keeping up');
    assert.equal(v.text, 'savers keeping up, lag 300, saving 1,000/s');
  });

  it('not keeping up: the lag grows', () => {
    const v = saverVerdict(
      { lag: 2000, saved: 0, at: at(0) },
      { lag: 12_000, saved: 5000, at: at(10) },
      { healthy: true, state: 'consuming' },
      null,
    );
    assert.equal(v.state, 'not keeping up');
    assert.match(v.text, /^savers NOT KEEPING UP: lag 12,000 \(\+10,000 in 10 s\), saving 500\/s$/);
  });

  it('stalled: nothing saved while messages wait, and why from /health', () => {
    const health = {
      healthy: false,
      state: 'degraded',
      blocked: [{ topic: 'transactions-topic', partition: 2, reason: 'the dead-letter topic refuses them: MESSAGE_TOO_LARGE' }],
    };
    const v = saverVerdict({ lag: 15_000, saved: 40, at: at(0) }, { lag: 15_590, saved: 40, at: at(10) }, health, null);
    assert.equal(v.state, 'stalled');
    assert.equal(
      v.text,
      'savers STALLED: nothing saved in 10 s, lag 15,590 messages waiting (state degraded; blocked transactions-topic/2: the dead-letter topic refuses them: MESSAGE_TOO_LARGE)',
    );
  });

  it('exited: said before anything else', () => {
    const v = saverVerdict(null, { lag: 0, saved: 0, at: 0 }, null, 'the consumer crashed 10 times in a row');
    assert.deepEqual(v, { state: 'exited', text: 'savers EXITED: the consumer crashed 10 times in a row' });
  });
});
