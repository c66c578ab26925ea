import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RepeatedLines } from './log-repeats.ts';

describe('RepeatedLines', () => {
  it('logs the first line, holds back repeats within the window, then logs one with their count', () => {
    let clock = 0;
    const lines = new RepeatedLines(1_000, () => clock);
    assert.deepEqual(lines.admit('offset out of range'), { log: true, repeated: 0 });
    for (let i = 0; i < 5; i++) {
      clock += 100;
      assert.deepEqual(lines.admit('offset out of range'), { log: false, repeated: 0 });
    }
    clock = 1_000;
    assert.deepEqual(lines.admit('offset out of range'), { log: true, repeated: 5 });
    assert.deepEqual(lines.admit('offset out of range'), { log: false, repeated: 0 });
  });

  it('keeps different lines apart', () => {
    const lines = new RepeatedLines(1_000, () => 0);
    assert.equal(lines.admit('a').log, true);
    assert.equal(lines.admit('b').log, true);
    assert.equal(lines.admit('a').log, false);
  });
});
