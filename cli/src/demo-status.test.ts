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

  it('stalled below the slack when /health says why: a few messages a blocked partition holds back', () => {
    const health = {
      healthy: false,
      state: 'degraded',
      blocked: [{ topic: 'cart-events-topic', partition: 0, reason: 'permission denied for table cart_events (42501)' }],
    };
    const v = saverVerdict({ lag: 12, saved: 500, at: at(0) }, { lag: 12, saved: 500, at: at(10) }, health, null);
    assert.equal(v.state, 'stalled');
    assert.match(
      v.text,
      /^savers STALLED: nothing saved in 10 s, lag 12 messages waiting \(state degraded; blocked cart-events-topic\/0: permission/,
    );
    // Healthy savers with a small lag and nothing saved between two samples: only a quiet moment.
    const quiet = saverVerdict(
      { lag: 12, saved: 500, at: at(0) },
      { lag: 12, saved: 500, at: at(10) },
      { healthy: true, state: 'consuming' },
      null,
    );
    assert.equal(quiet.state, 'keeping up');
  });

  it('partly stalled, not keeping up: other partitions save while /health lists blocked ones', () => {
    const health = {
      healthy: false,
      state: 'degraded',
      blocked: [
        { topic: 'product-views-topic', partition: 0, reason: 'permission denied for table product_view_events (42501)' },
        { topic: 'product-views-topic', partition: 1, reason: 'permission denied for table product_view_events (42501)' },
      ],
    };
    const v = saverVerdict({ lag: 300, saved: 1000, at: at(0) }, { lag: 600, saved: 3000, at: at(10) }, health, null);
    assert.equal(v.state, 'partly stalled');
    assert.match(
      v.text,
      /^savers PARTLY STALLED: 2 partitions blocked, lag 600, saving 200\/s \(state degraded; blocked product-views-topic\/0: /,
    );
  });

  it('waiting for Postgres: the error it answered with is the reason', () => {
    const health = { healthy: false, state: 'postgres-down', postgres: { code: '57P03', error: 'the database system is starting up' } };
    const v = saverVerdict({ lag: 5000, saved: 40, at: at(0) }, { lag: 6000, saved: 40, at: at(10) }, health, null);
    assert.equal(v.state, 'stalled');
    assert.match(v.text, /\(state postgres-down; Postgres: the database system is starting up \(57P03\)\)$/);
  });

  it('exited: said before anything else', () => {
    const v = saverVerdict(null, { lag: 0, saved: 0, at: 0 }, null, 'the consumer crashed 10 times in a row');
    assert.deepEqual(v, { state: 'exited', text: 'savers EXITED: the consumer crashed 10 times in a row' });
  });
});
