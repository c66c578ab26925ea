import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeWorks, takeMergeable, type Work } from './partition-queues.ts';

const work = (expected: string | null, next: string, messages: number, text = `${next}\n`): Work => ({
  expected,
  next,
  staged: { tables: { stage_product_views: text }, events: messages },
  deadLetters: messages > 1 ? [{ offset: expected ?? '0', key: null, reason: 'bad', payload: null }] : [],
  messages,
  highWatermark: String(Number(next) + 10),
});

describe('partition queues', () => {
  it('mergeWorks saves queued works as one: from the first expected offset to the last next, every row and dead letter in order', () => {
    const merged = mergeWorks([work(null, '3', 3, 'a\n'), work('3', '5', 2, 'b\n'), work('5', '6', 1, 'c\n')]);
    assert.equal(merged.expectedOffset, null);
    assert.equal(merged.nextOffset, '6');
    assert.deepEqual([merged.expected, merged.next], [null, '6']);
    assert.deepEqual(merged.staged, { tables: { stage_product_views: 'a\nb\nc\n' }, events: 6 });
    assert.deepEqual(
      merged.deadLetters.map((d) => d.offset),
      ['0', '3'],
    );
    assert.equal(merged.messages, 6);
    assert.equal(merged.highWatermark, '16');
  });

  it('takeMergeable takes at least one work, then as many as fit in one transaction', () => {
    const queue = [work(null, '1', 10), work('1', '2', 10), work('2', '3', 10), work('3', '4', 50)];
    const first = takeMergeable(queue, 25);
    assert.deepEqual([first.take.map((w) => w.next), first.messages], [['1', '2'], 20]);
    const second = takeMergeable(queue, 25);
    assert.deepEqual([second.take.map((w) => w.next), second.messages], [['3'], 10]);
    const alone = takeMergeable(queue, 25);
    assert.deepEqual([alone.take.map((w) => w.next), alone.messages], [['4'], 50], 'a work over the limit goes alone');
    assert.deepEqual(takeMergeable(queue, 25), { take: [], messages: 0 });
  });
});
